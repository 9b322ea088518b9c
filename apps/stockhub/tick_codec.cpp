#include "tick_codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <hubcast/protocol/json_parse.hpp>
#include "wire_text.hpp"

namespace stockhub {

namespace json = boost::json;

namespace {
// 0001-01-01 to 9999-12-31, as .NET's DateTime.
constexpr std::int64_t min_timestamp_us = -62135596800LL * 1000000;
constexpr std::int64_t max_timestamp_us = 253402300799LL * 1000000;
// Cents that still fit a C# decimal and a double without loss: well past any share price.
constexpr std::int64_t max_cents = 1LL << 50;

std::optional<std::int64_t> integer(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

const json::string* text(const json::object& o, std::string_view key, std::size_t max) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return nullptr;
  const auto& s = v->get_string();
  if (!printable_token(s, max)) return nullptr;
  return &s;
}
}  // namespace

std::string encode_tick(const market_tick& tick) {
  json::array prices;
  prices.reserve(tick.prices.size());
  for (const auto& p : tick.prices)
    prices.push_back(
        json::object{{"s", p.symbol}, {"id", p.id}, {"c", p.cents}, {"t", p.timestamp_us}});
  json::object o{{"node", tick.node}, {"term", tick.term}, {"prices", std::move(prices)}};
  return json::serialize(o);
}

std::optional<market_tick> decode_tick(std::string_view in) {
  if (in.size() > max_tick_bytes) return std::nullopt;
  json::parse_options options;
  options.max_depth = 4;
  boost::system::error_code ec;
  auto v = hubcast::protocol::parse_json(in, ec, options);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  market_tick t;
  auto* node = text(o, "node", max_node_length);
  auto term = integer(o, "term");
  auto* prices = o.if_contains("prices");
  if (!node || !term || *term <= 0 || *term > max_tick_term || !prices || !prices->is_array())
    return std::nullopt;
  t.node = std::string(*node);
  t.term = *term;
  const auto& list = prices->get_array();
  if (list.size() > max_tick_prices) return std::nullopt;
  t.prices.reserve(list.size());
  for (const auto& e : list) {
    if (!e.is_object()) return std::nullopt;
    const auto& po = e.get_object();
    auto* symbol = text(po, "s", max_symbol_length);
    auto id = integer(po, "id");
    auto cents = integer(po, "c");
    auto ts = integer(po, "t");
    if (!symbol || !id || *id < 0 || static_cast<std::uint64_t>(*id) > max_tick_id || !cents ||
        *cents <= 0 || *cents > max_cents || !ts || *ts < min_timestamp_us ||
        *ts > max_timestamp_us)
      return std::nullopt;
    t.prices.push_back(
        tick_price{std::string(*symbol), static_cast<std::uint64_t>(*id), *cents, *ts});
  }
  return t;
}

}  // namespace stockhub

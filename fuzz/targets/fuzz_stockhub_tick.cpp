// What stockhub nodes read from each other through Redis: ticks (channel "stockhub:ticks") and
// node figures ("stockhub:stats:<node>"). Whatever arrives, each decoder returns a value within
// its bounds or nothing, and a decoded value encodes to text that decodes to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "statistics.hpp"
#include "tick_codec.hpp"

namespace {
void node_figures(std::string_view in) {
  auto s = stockhub::decode_node_statistics(in);
  if (!s) return;
  if (s->node.empty() || s->connections < 0 || s->connections_by_transport.size() > 16 ||
      !(s->messages_per_second >= 0))
    __builtin_trap();
  auto again = stockhub::decode_node_statistics(stockhub::encode_node_statistics(*s));
  if (!again || again->node != s->node || again->connections != s->connections ||
      again->connections_by_transport != s->connections_by_transport ||
      again->connections_by_protocol != s->connections_by_protocol ||
      again->connected_users != s->connected_users ||
      again->messages_per_second != s->messages_per_second ||
      again->ticks_per_second != s->ticks_per_second)
    __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  node_figures(in);
  auto t = stockhub::decode_tick(in);
  if (!t) return 0;
  if (t->prices.size() > stockhub::max_tick_prices || t->node.size() > stockhub::max_node_length ||
      t->term <= 0 || t->term > stockhub::max_tick_term)
    __builtin_trap();
  auto again = stockhub::decode_tick(stockhub::encode_tick(*t));
  if (!again || again->node != t->node || again->term != t->term ||
      again->prices.size() != t->prices.size())
    __builtin_trap();
  for (std::size_t i = 0; i < t->prices.size(); ++i) {
    const auto &a = t->prices[i], &b = again->prices[i];
    if (a.symbol != b.symbol || a.id != b.id || a.cents != b.cents ||
        a.timestamp_us != b.timestamp_us || a.cents <= 0 || a.id > stockhub::max_tick_id ||
        a.symbol.size() > stockhub::max_symbol_length)
      __builtin_trap();
  }
  return 0;
}

// Shared by the hub protocol fuzz targets: bind every parsed value to the types hub methods
// declare (strings, numbers, bytes, dates, decimals, structs, containers), as the dispatcher
// would, so the codecs are fuzzed along with the parsers. Binding errors are expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/describe/class.hpp>

#include <hubcast/protocol/hub_message.hpp>
#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/protocol/value_codec.hpp>

#include "contract.hpp"

namespace hubcast_fuzz {

// TestHub's own struct (apps/conformance/contract.hpp), and what it lacks: an optional decimal
// and a map.
using test_contract::complex_object;
struct more_fields {
  std::optional<hubcast::decimal> Price;
  std::map<std::string, double> Extra;
};
BOOST_DESCRIBE_STRUCT(more_fields, (), (Price, Extra))

template <class T>
void try_bind(const hubcast::protocol::raw_value& v) {
  try {
    (void)hubcast::from_raw<T>(v);
  } catch (const hubcast::binding_error&) {
  }
}

inline void bind_all(const hubcast::protocol::raw_value& v) {
  try_bind<std::string>(v);
  try_bind<int>(v);
  try_bind<std::int64_t>(v);
  try_bind<std::uint8_t>(v);
  try_bind<double>(v);
  try_bind<bool>(v);
  try_bind<hubcast::bytes>(v);
  try_bind<hubcast::date_time>(v);
  try_bind<hubcast::decimal>(v);
  try_bind<complex_object>(v);
  try_bind<more_fields>(v);
  try_bind<std::vector<std::string>>(v);
  try_bind<std::optional<int>>(v);
  try_bind<float>(v);
  try_bind<std::vector<hubcast::date_time>>(v);
  try {
    (void)hubcast::to_json_value(v);  // the generic view (client results); throws binding_error too
  } catch (const hubcast::binding_error&) {
  }
}

inline void bind_message(const hubcast::protocol::hub_message& m) {
  using namespace hubcast::protocol;
  if (auto* inv = std::get_if<invocation_message>(&m))
    for (const auto& a : inv->arguments) bind_all(a);
  else if (auto* item = std::get_if<stream_item_message>(&m))
    bind_all(item->item);
  else if (auto* c = std::get_if<completion_message>(&m))
    bind_all(c->result);
}

// Reads `data` as a server reads a connection's input in `protocol` (the defaults' 32 KB
// limit), binding the values of every message it parses.
inline void parse_all(std::string_view protocol, const std::uint8_t* data, std::size_t size) {
  const auto* proto = hubcast::protocol::find_protocol(protocol);
  std::string_view view(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 1000; ++i) {
    auto step = proto->parse_next(view, 32 * 1024);
    if (step.kind == hubcast::protocol::parse_step::need_more ||
        step.kind == hubcast::protocol::parse_step::invalid ||
        step.kind == hubcast::protocol::parse_step::too_large)
      break;
    if (step.msg) bind_message(*step.msg);
  }
}

}  // namespace hubcast_fuzz

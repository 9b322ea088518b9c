// stockhub's ticks between nodes (Redis channel "stockhub:ticks"): whatever arrives, the
// decoder returns a tick within its bounds or nothing, and a decoded tick encodes to text that
// decodes to the same tick.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tick_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto t = stockhub::decode_tick(in);
  if (!t) return 0;
  if (t->prices.size() > stockhub::max_tick_prices || t->node.size() > stockhub::max_node_length ||
      t->term <= 0)
    __builtin_trap();
  auto again = stockhub::decode_tick(stockhub::encode_tick(*t));
  if (!again || again->node != t->node || again->term != t->term ||
      again->prices.size() != t->prices.size())
    __builtin_trap();
  for (std::size_t i = 0; i < t->prices.size(); ++i) {
    const auto &a = t->prices[i], &b = again->prices[i];
    if (a.symbol != b.symbol || a.id != b.id || a.cents != b.cents ||
        a.timestamp_us != b.timestamp_us || a.cents <= 0 ||
        a.symbol.size() > stockhub::max_symbol_length)
      __builtin_trap();
  }
  return 0;
}

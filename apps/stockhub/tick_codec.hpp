// The market's ticks between stockhub nodes (Redis channel "<prefix>stockhub:ticks"): the
// leader publishes every tick it simulates, the other nodes stream the same prices. JSON, so
// that `redis-cli subscribe` shows something a person can read:
//   {"node":"host_1f…","term":3,"prices":[{"s":"MSFT","id":1234,"c":41237,"t":1764705600123456}]}
// c: the price in cents; t: microseconds since 1970-01-01 UTC; term: the leader's lease term
// (a tick from an older term than one already seen is from a deposed leader and dropped).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stockhub {

struct tick_price {
  std::string symbol;
  std::uint64_t id = 0;
  std::int64_t cents = 0;
  std::int64_t timestamp_us = 0;
};

struct market_tick {
  std::string node;
  std::int64_t term = 0;
  std::vector<tick_price> prices;
};

// Bounds of a tick from the network: a message this size holds every realistic market.
inline constexpr std::size_t max_tick_bytes = 256 * 1024;
inline constexpr std::size_t max_tick_prices = 1024;
inline constexpr std::size_t max_symbol_length = 32;
inline constexpr std::size_t max_node_length = 128;
// Terms and price ids: integers up to 2^53 (exact in a double, in JavaScript and in the lease
// script's Lua numbers). A tick past them is not decoded.
inline constexpr std::int64_t max_tick_term = std::int64_t{1} << 53;
inline constexpr std::uint64_t max_tick_id = std::uint64_t{1} << 53;

std::string encode_tick(const market_tick& tick);
// nullopt for anything that is not a well-formed tick within the bounds above (unknown members
// are ignored, so a newer node may add some).
std::optional<market_tick> decode_tick(std::string_view text);

}  // namespace stockhub

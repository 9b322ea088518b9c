// Bounds for names stockhub nodes read from each other through Redis (node names, symbols,
// breakdown keys): 1..max bytes of printable ASCII without spaces.
#pragma once

#include <cstddef>
#include <string_view>

namespace stockhub {

inline bool printable_token(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace stockhub

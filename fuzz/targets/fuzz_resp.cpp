// RESP replies (redis/redis_value.cpp: hiredis's reader, our reply objects) as the Redis
// connection reads them: bytes in pieces (the first byte picks the size). Never a crash, never
// an array past the element bound, nothing buffered past the byte bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <hubcast/redis/redis_value.hpp>

namespace {
void check(const hubcast::redis::redis_value& v, int depth) {
  if (depth > 9 || v.elements.size() > (1u << 20)) std::abort();
  for (const auto& e : v.elements) check(e, depth + 1);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 32;
  hubcast::redis::redis_reader reader(64 * 1024);
  for (std::size_t i = 1; i < size; i += step) {
    std::string_view piece(reinterpret_cast<const char*>(data) + i, std::min(step, size - i));
    if (!reader.feed(piece)) return 0;
    while (auto v = reader.next()) check(*v, 0);
    if (!reader.error().empty()) return 0;
  }
  return 0;
}

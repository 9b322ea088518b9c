// The Redis backplane's payload readers (redis/redis_protocol.cpp): what another server
// published, as hostile as what a client sends. The first byte picks the reader. Never a
// crash; every accepted payload writes back to bytes that read the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <hubcast/redis/redis_protocol.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace hubcast::redis;
  try {
    switch (data[0] % 4) {
      case 0: {
        auto inv = read_invocation(in);
        std::vector<serialization_view> views;
        for (const auto& m : inv.messages) views.emplace_back(m.protocol, m.bytes);
        auto again = read_invocation(
            write_invocation(inv.excluded, views, inv.invocation_id, inv.return_channel));
        if (again.excluded != inv.excluded || again.messages.size() != inv.messages.size())
          std::abort();
        break;
      }
      case 1: {
        auto c = read_group_command(in);
        auto again = read_group_command(write_group_command(c));
        if (again.id != c.id || again.group != c.group || again.action != c.action) std::abort();
        break;
      }
      case 2:
        if (read_ack(write_ack(read_ack(in))) != read_ack(in)) std::abort();
        break;
      default: {
        auto c = read_completion(in);
        if (read_completion(write_completion(c.protocol, c.bytes)).bytes != c.bytes) std::abort();
        break;
      }
    }
  } catch (const protocol_error&) {
  }
  return 0;
}

// The payloads ASP.NET Core's Redis backplane publishes (RedisProtocol), all MessagePack:
//
//   invocation     [excluded ids: [str…], {protocol name: bin…}(, invocation id, return channel)]
//   group command  [id: int, server name: str, action: int (1 add, 2 remove), group: str,
//                   connection id: str]
//   ack            [id: int]
//   completion     [protocol name: str, Completion message as the client sent it: bin]
//
// The serialized messages are the exact bytes of each protocol's wire format, framing included
// (JSON + 0x1e; MessagePack varint length + array): a receiving server writes them as they are.
// Readers accept longer arrays (extra items ignored) and any integer encoding, as the .NET
// reader does; anything else is a protocol_error with the reason. Bytes from Redis are as
// hostile as bytes from a client: every count is bounded by the bytes that hold it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hubcast::redis {

class protocol_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One protocol's bytes of a hub message.
struct serialization {
  std::string protocol;  // "json", "messagepack"
  std::string bytes;
};

struct redis_invocation {
  std::vector<std::string> excluded;
  std::vector<serialization> messages;
  // Both set when the sender waits for a client result (InvokeClient).
  std::optional<std::string> invocation_id;
  std::optional<std::string> return_channel;
};

enum class group_action : std::uint8_t { add = 1, remove = 2 };

struct redis_group_command {
  std::int32_t id = 0;
  std::string server;
  std::uint8_t action = 0;  // a group_action; others are acknowledged and change nothing
  std::string group;
  std::string connection_id;
};

struct redis_completion {
  std::string protocol;
  std::string bytes;
};

// `messages`: (protocol name, bytes) views, written in that order.
using serialization_view = std::pair<std::string_view, std::string_view>;
std::string write_invocation(const std::vector<std::string>& excluded,
                             const std::vector<serialization_view>& messages,
                             const std::optional<std::string>& invocation_id = std::nullopt,
                             const std::optional<std::string>& return_channel = std::nullopt);
std::string write_group_command(const redis_group_command& c);
std::string write_ack(std::int32_t id);
std::string write_completion(std::string_view protocol, std::string_view bytes);

redis_invocation read_invocation(std::string_view data);
redis_group_command read_group_command(std::string_view data);
std::int32_t read_ack(std::string_view data);
redis_completion read_completion(std::string_view data);

}  // namespace hubcast::redis

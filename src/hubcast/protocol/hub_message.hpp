// Hub protocol messages (signalr-protocol.md §6). Protocol-neutral: argument, item and result
// values stay as parsed trees (raw_value) until the dispatcher binds them to C++ types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <hubcast/protocol/raw_value.hpp>

namespace hubcast::protocol {

using header_map = std::vector<std::pair<std::string, std::string>>;

enum class message_type : int {
  invocation = 1,
  stream_item = 2,
  completion = 3,
  stream_invocation = 4,
  cancel_invocation = 5,
  ping = 6,
  close = 7,
  ack = 8,
  sequence = 9,
};

// Types 1 and 4 share a layout; `streaming` tells them apart.
struct invocation_message {
  bool streaming = false;
  std::optional<std::string> invocation_id;  // absent: non-blocking (no answer, not even errors)
  std::string target;
  std::vector<raw_value> arguments;
  std::vector<std::string> stream_ids;
  header_map headers;
};

struct stream_item_message {
  std::string invocation_id;
  raw_value item;
  header_map headers;
};

struct completion_message {
  std::string invocation_id;
  std::optional<std::string> error;
  bool has_result = false;  // false: void / end of stream
  raw_value result;
  header_map headers;
};

struct cancel_invocation_message {
  std::string invocation_id;
  header_map headers;
};

struct ping_message {};

struct close_message {
  std::optional<std::string> error;
  bool allow_reconnect = false;
};

struct ack_message {
  std::int64_t sequence_id = 0;
};

struct sequence_message {
  std::int64_t sequence_id = 0;
};

using hub_message = std::variant<invocation_message, stream_item_message, completion_message,
                                 cancel_invocation_message, ping_message, close_message,
                                 ack_message, sequence_message>;

}  // namespace hubcast::protocol

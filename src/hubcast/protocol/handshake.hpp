// Handshake (signalr-protocol.md §4): always JSON, terminated by 0x1E, even for MessagePack.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace hubcast::protocol {

struct handshake_request {
  std::string protocol;
  std::int64_t version = 0;
};

// A malformed request: `detail` is what DetailedErrors appends to
// "An unexpected error occurred during connection handshake.".
struct handshake_error {
  std::string detail;
};

// `record` excludes the 0x1E separator.
std::variant<handshake_request, handshake_error> parse_handshake_request(std::string_view record);

// `{}` + 0x1E
std::string handshake_success();
// `{"error":"<text>"}` + 0x1E
std::string handshake_failure(std::string_view error);

}  // namespace hubcast::protocol

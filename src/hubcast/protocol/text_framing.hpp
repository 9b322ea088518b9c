// JSON hub protocol record framing (signalr-protocol.md §5.1): every record ends with 0x1E.
#pragma once

#include <optional>
#include <string_view>

namespace hubcast::protocol {

inline constexpr char record_separator = '\x1e';

// Takes the next complete record (without its separator) off the front of `buffer`.
// Returns nullopt when `buffer` holds no complete record yet; `buffer` is then unchanged.
inline std::optional<std::string_view> next_text_record(std::string_view& buffer) {
  auto pos = buffer.find(record_separator);
  if (pos == std::string_view::npos) return std::nullopt;
  auto record = buffer.substr(0, pos);
  buffer.remove_prefix(pos + 1);
  return record;
}

}  // namespace hubcast::protocol

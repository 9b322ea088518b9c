// The `json` hub protocol (signalr-protocol.md §5.1, §6.1): parse one record, write messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include <hubcast/protocol/hub_message.hpp>

namespace hubcast::protocol::json {

// System.Text.Json's default maximum depth, which ASP.NET Core reads hub messages and the
// handshake with.
inline constexpr unsigned max_depth = 64;

struct parse_result {
  // Empty with `error` empty: a message of an unknown type, ignored for forward compatibility.
  std::optional<hub_message> message;
  std::string error;  // non-empty: protocol error (the connection must be closed)
};

// `record` excludes the 0x1E separator.
parse_result parse(std::string_view record);

// Writers append a complete record (0x1E included) to `out`.
void write_invocation(std::string& out, std::string_view target, const boost::json::value& args,
                      std::optional<std::string_view> invocation_id = std::nullopt);
void write_stream_item(std::string& out, std::string_view invocation_id,
                       const boost::json::value& item);
void write_completion_result(std::string& out, std::string_view invocation_id,
                             const boost::json::value& result);
void write_completion_error(std::string& out, std::string_view invocation_id,
                            std::string_view error);
void write_completion_void(std::string& out, std::string_view invocation_id);
// The same with the value already as JSON text (payloads write themselves).
void write_invocation_raw(std::string& out, std::string_view target, std::string_view args_json,
                          std::optional<std::string_view> invocation_id);
void write_stream_item_raw(std::string& out, std::string_view invocation_id,
                           std::string_view item_json);
void write_completion_result_raw(std::string& out, std::string_view invocation_id,
                                 std::string_view result_json);
void write_ping(std::string& out);
void write_close(std::string& out, std::optional<std::string_view> error, bool allow_reconnect);
void write_ack(std::string& out, std::int64_t sequence_id);
void write_sequence(std::string& out, std::int64_t sequence_id);
// Client-side messages (used by tests and the C++ client).
void write_stream_invocation(std::string& out, std::string_view invocation_id,
                             std::string_view target, const boost::json::value& args);
void write_cancel_invocation(std::string& out, std::string_view invocation_id);
// Invocation (type 1) or StreamInvocation (type 4) with `streamIds` when there are any.
void write_client_invocation_raw(std::string& out, bool streaming, std::string_view target,
                                 std::string_view args_json,
                                 std::optional<std::string_view> invocation_id,
                                 const std::vector<std::string>& stream_ids);

}  // namespace hubcast::protocol::json

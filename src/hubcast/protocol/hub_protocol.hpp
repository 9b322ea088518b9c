// The hub protocol seam (IHubProtocol): one implementation per wire format. Pure codecs, no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hubcast/protocol/hub_message.hpp>
#include <hubcast/protocol/payload.hpp>

namespace hubcast::protocol {

enum class transfer_format { text, binary };

enum class protocol_id : std::uint8_t { json = 0, messagepack = 1 };
inline constexpr std::size_t protocol_count = 2;

struct parse_step {
  enum kind_t {
    need_more,  // no complete message in the buffer
    message,    // `message` holds one message
    ignored,    // a complete message of an unknown type was consumed
    invalid,    // malformed input: close the connection with an error
    too_large,  // a message (framing included) exceeds the receive limit
  } kind = need_more;
  std::optional<hub_message> msg;
  std::string error;
};

class hub_protocol {
 public:
  virtual ~hub_protocol() = default;
  virtual protocol_id id() const = 0;
  virtual std::string_view name() const = 0;
  virtual int version() const = 0;  // highest supported
  virtual transfer_format format() const = 0;

  // Takes the next message off the front of `buffer`. `max_size` == 0 means unlimited.
  virtual parse_step parse_next(std::string_view& buffer, std::size_t max_size) const = 0;

  // Writers append one complete framed record to `out`.
  virtual void write_invocation(std::string& out, std::string_view target, const payload& args,
                                std::optional<std::string_view> invocation_id,
                                const encode_options& opt) const = 0;
  virtual void write_stream_item(std::string& out, std::string_view invocation_id,
                                 const payload& item, const encode_options& opt) const = 0;
  virtual void write_completion_result(std::string& out, std::string_view invocation_id,
                                       const payload& result, const encode_options& opt) const = 0;
  virtual void write_completion_error(std::string& out, std::string_view invocation_id,
                                      std::string_view error) const = 0;
  virtual void write_completion_void(std::string& out, std::string_view invocation_id) const = 0;
  virtual void write_ping(std::string& out) const = 0;
  virtual void write_close(std::string& out, std::optional<std::string_view> error,
                           bool allow_reconnect) const = 0;
  virtual void write_ack(std::string& out, std::int64_t sequence_id) const = 0;
  virtual void write_sequence(std::string& out, std::int64_t sequence_id) const = 0;

  // Client-to-server messages (the C++ client): Invocation (type 1) or StreamInvocation (type 4)
  // with upload stream ids, and CancelInvocation.
  virtual void write_client_invocation(std::string& out, bool streaming, std::string_view target,
                                       const payload& args,
                                       std::optional<std::string_view> invocation_id,
                                       const std::vector<std::string>& stream_ids,
                                       const encode_options& opt) const = 0;
  virtual void write_cancel_invocation(std::string& out, std::string_view invocation_id) const = 0;
};

// Registered protocols, looked up by their handshake name (`json`, `messagepack`).
const hub_protocol* find_protocol(std::string_view name);
const hub_protocol& protocol_by_id(protocol_id id);
const hub_protocol& json_protocol();

using shared_bytes = std::shared_ptr<const std::string>;

// One outgoing message serialized once per protocol in use (SerializedHubMessage): every
// recipient shares the same immutable bytes.
class serialized_message {
 public:
  serialized_message(std::string target, payload args)
      : target_(std::move(target)), args_(std::move(args)) {}
  // Bytes only (what a backplane received): a protocol without bytes cannot be served.
  serialized_message() = default;
  bool has_source() const { return static_cast<bool>(args_); }
  shared_bytes get(protocol_id p) const { return bytes_[static_cast<std::size_t>(p)]; }
  void set(protocol_id p, shared_bytes b) { bytes_[static_cast<std::size_t>(p)] = std::move(b); }
  // For a recipient whose protocol came into use after the message was serialized.
  const std::string& target() const { return target_; }
  const payload& args() const { return args_; }

 private:
  std::string target_;
  payload args_;
  std::array<shared_bytes, protocol_count> bytes_;
};

}  // namespace hubcast::protocol

// RFC 6455 framing without I/O, for both ends: the reader of a peer's frames (bounded, UTF-8
// checked; a server reads masked client frames, a client unmasked server frames) and the writers
// of frames (unmasked from a server, masked from a client). Used by the server's WebSockets
// (http/direct_websocket.cpp, http/frame_stream.hpp, transport/websocket_transport.cpp) and the
// C++ client's (client/websocket_transport.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hubcast::http {

enum class ws_opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// Close codes (RFC 6455 §7.4.1) the reader sends back when the client breaks the protocol.
inline constexpr std::uint16_t close_normal = 1000;
inline constexpr std::uint16_t close_protocol_error = 1002;
inline constexpr std::uint16_t close_invalid_payload = 1007;
inline constexpr std::uint16_t close_message_too_big = 1009;

// The largest header of a server frame, and the header itself (FIN set, unmasked); returns its
// length.
inline constexpr std::size_t ws_max_header = 10;
std::size_t write_frame_header(unsigned char* out, ws_opcode op, std::size_t payload_length);
// A whole control frame (close: the two-byte code, then `payload`).
std::string make_control_frame(ws_opcode op, std::string_view payload);
std::string make_close_frame(std::uint16_t code);
// A client's frame: FIN set, masked with `key` (RFC 6455 §5.3: a fresh unpredictable key per
// frame). Control frames are cut to 125 bytes.
std::string make_masked_frame(ws_opcode op, std::string_view payload, const unsigned char key[4]);
// A client's close frame (the code, then a reason cut to fit 125 bytes).
std::string make_masked_close_frame(std::uint16_t code, const unsigned char key[4]);
// The code a server answers a peer's close with: the peer's own, or 1000 for a close that
// carried none (0).
inline std::uint16_t close_reply_code(std::uint16_t peer_code) {
  return peer_code ? peer_code : close_normal;
}

// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF),
// across fragments.
class utf8_validator {
 public:
  bool feed(std::string_view bytes);
  // The input so far ends on a whole code point.
  bool complete() const { return need_ == 0; }
  void reset() { need_ = 0; }

 private:
  int need_ = 0;           // continuation bytes still expected
  unsigned char low_ = 0;  // bounds of the next continuation byte (the first one is narrower)
  unsigned char high_ = 0;
};

// Which end reads: a server reads client frames (which must be masked), a client reads server
// frames (which must not be).
enum class ws_role { server, client };

// Reads a peer's frames from bytes as they arrive. next() looks at a buffer of received bytes,
// consumes whole frames (payloads are unmasked in place) and stops at the first event: a whole
// data message (taken with take_message()), a ping, a pong, a close, or an error (the close
// code to answer with). Bytes of an incomplete frame are left unconsumed. Memory is bounded by
// max_message: a frame that would pass it is refused from its header, before its payload.
class frame_reader {
 public:
  enum class event { need_more, message, ping, pong, close, error };
  struct result {
    event kind = event::need_more;
    std::size_t consumed = 0;  // bytes of the buffer used up, whatever the event
    // ping/pong: the payload; close: the reason (after the code). Points into the buffer.
    std::string_view payload;
    std::uint16_t code = 0;       // close: the peer's code (0: none); error: the code to send
    const char* error = nullptr;  // error: what was wrong, for the log
  };

  explicit frame_reader(std::size_t max_message = 1024 * 1024, ws_role role = ws_role::server)
      : max_message_(max_message), role_(role) {}
  void set_max_message(std::size_t bytes) { max_message_ = bytes; }

  result next(std::span<char> buffer);

  // After event::message.
  std::string take_message();
  bool message_binary() const { return binary_; }
  // Bytes held for a message not yet complete (fragments so far).
  std::size_t held_bytes() const { return message_.size(); }

 private:
  std::size_t max_message_;
  ws_role role_;
  std::string message_;
  bool in_message_ = false;  // a fragmented message has begun
  bool binary_ = false;
  utf8_validator utf8_;
};

}  // namespace hubcast::http

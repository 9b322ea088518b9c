#include <hubcast/http/websocket_frames.hpp>

#include <cstring>

namespace hubcast::http {

std::size_t write_frame_header(unsigned char* out, ws_opcode op, std::size_t len) {
  out[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned char>(op));
  if (len < 126) {
    out[1] = static_cast<unsigned char>(len);
    return 2;
  }
  if (len <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<unsigned char>(len >> 8);
    out[3] = static_cast<unsigned char>(len);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(len) >> (56 - 8 * i));
  return 10;
}

std::string make_control_frame(ws_opcode op, std::string_view payload) {
  if (payload.size() > 125) payload = payload.substr(0, 125);  // control frames: ≤ 125 bytes
  unsigned char h[ws_max_header];
  std::size_t n = write_frame_header(h, op, payload.size());
  std::string out(reinterpret_cast<const char*>(h), n);
  out.append(payload);
  return out;
}

std::string make_close_frame(std::uint16_t code) {
  const char body[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return make_control_frame(ws_opcode::close, std::string_view(body, 2));
}

std::string make_masked_frame(ws_opcode op, std::string_view payload, const unsigned char key[4]) {
  if (static_cast<unsigned char>(op) >= 0x8 && payload.size() > 125)
    payload = payload.substr(0, 125);
  unsigned char h[ws_max_header];
  std::size_t n = write_frame_header(h, op, payload.size());
  h[1] |= 0x80;
  std::string out;
  out.reserve(n + 4 + payload.size());
  out.append(reinterpret_cast<const char*>(h), n);
  out.append(reinterpret_cast<const char*>(key), 4);
  const std::size_t start = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out[start + i] = static_cast<char>(out[start + i] ^ key[i & 3]);
  return out;
}

std::string make_masked_close_frame(std::uint16_t code, const unsigned char key[4]) {
  const char body[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return make_masked_frame(ws_opcode::close, std::string_view(body, 2), key);
}

bool utf8_validator::feed(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    if (need_ == 0) {
      // ASCII runs, eight bytes at a time.
      while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (w & 0x8080808080808080ull) break;
        p += 8;
      }
      if (p == end) break;
      unsigned char b = *p++;
      if (b < 0x80) continue;
      low_ = 0x80;
      high_ = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        need_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        need_ = 2;
        if (b == 0xE0) low_ = 0xA0;   // no overlong forms
        if (b == 0xED) high_ = 0x9F;  // no surrogates
      } else if (b >= 0xF0 && b <= 0xF4) {
        need_ = 3;
        if (b == 0xF0) low_ = 0x90;
        if (b == 0xF4) high_ = 0x8F;  // nothing past U+10FFFF
      } else {
        return false;
      }
      continue;
    }
    unsigned char b = *p++;
    if (b < low_ || b > high_) return false;
    --need_;
    low_ = 0x80;
    high_ = 0xBF;
  }
  return true;
}

namespace {

bool valid_close_code(std::uint16_t c) {
  if (c >= 3000 && c <= 4999) return true;  // registered and private use
  return c >= 1000 && c <= 1014 && c != 1004 && c != 1005 && c != 1006;
}

void unmask(char* p, std::size_t n, const unsigned char key[4]) {
  std::uint64_t k8;
  unsigned char k[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&k8, k, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    w ^= k8;
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<char>(p[i] ^ key[i & 3]);
}

frame_reader::result fail(std::size_t consumed, std::uint16_t code, const char* what) {
  frame_reader::result r;
  r.kind = frame_reader::event::error;
  r.consumed = consumed;
  r.code = code;
  r.error = what;
  return r;
}

}  // namespace

frame_reader::result frame_reader::next(std::span<char> buf) {
  std::size_t pos = 0;
  const std::size_t size = buf.size();
  for (;;) {
    result more;
    more.consumed = pos;
    const std::size_t avail = size - pos;
    if (avail < 2) return more;
    const auto* h = reinterpret_cast<const unsigned char*>(buf.data() + pos);
    const bool fin = (h[0] & 0x80) != 0;
    const auto op = static_cast<unsigned char>(h[0] & 0x0f);
    if (h[0] & 0x70) return fail(pos, close_protocol_error, "reserved bits set");
    const bool masked = (h[1] & 0x80) != 0;
    if (role_ == ws_role::server && !masked)
      return fail(pos, close_protocol_error, "unmasked client frame");
    if (role_ == ws_role::client && masked)
      return fail(pos, close_protocol_error, "masked server frame");
    std::uint64_t len = h[1] & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
      if (avail < 4) return more;
      len = (std::uint64_t{h[2]} << 8) | h[3];
      if (len < 126) return fail(pos, close_protocol_error, "length not in its shortest form");
      header = 4;
    } else if (len == 127) {
      if (avail < 10) return more;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | h[2 + i];
      if (len >> 63) return fail(pos, close_protocol_error, "length over 2^63");
      if (len <= 0xFFFF) return fail(pos, close_protocol_error, "length not in its shortest form");
      header = 10;
    }
    const bool control = op >= 0x8;
    if (control) {
      if (op > 0xA) return fail(pos, close_protocol_error, "unknown opcode");
      if (!fin) return fail(pos, close_protocol_error, "fragmented control frame");
      if (len > 125) return fail(pos, close_protocol_error, "control frame over 125 bytes");
    } else {
      if (op > 0x2) return fail(pos, close_protocol_error, "unknown opcode");
      if (op == 0x0 && !in_message_)
        return fail(pos, close_protocol_error, "continuation frame without a message");
      if (op != 0x0 && in_message_)
        return fail(pos, close_protocol_error, "new message before the last one ended");
      const std::size_t held = op == 0x0 ? message_.size() : 0;
      if (len > max_message_ || held > max_message_ - len)
        return fail(pos, close_message_too_big, "message too big");
    }
    const std::size_t key_size = masked ? 4 : 0;
    if (avail - header < key_size || avail - header - key_size < len) return more;
    char* payload = buf.data() + pos + header + key_size;
    const auto n = static_cast<std::size_t>(len);
    if (masked) unmask(payload, n, h + header);
    pos += header + key_size + n;
    std::string_view data(payload, n);
    if (control) {
      result r;
      r.consumed = pos;
      if (op == 0x9) {
        r.kind = event::ping;
        r.payload = data;
        return r;
      }
      if (op == 0xA) {
        r.kind = event::pong;
        r.payload = data;
        return r;
      }
      if (n == 1) return fail(pos, close_protocol_error, "close frame of one byte");
      if (n >= 2) {
        auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(data[0]) << 8) |
                                               static_cast<unsigned char>(data[1]));
        if (!valid_close_code(code)) return fail(pos, close_protocol_error, "invalid close code");
        utf8_validator reason;
        if (!reason.feed(data.substr(2)) || !reason.complete())
          return fail(pos, close_invalid_payload, "close reason is not UTF-8");
        r.code = code;
        r.payload = data.substr(2);
      }
      r.kind = event::close;
      return r;
    }
    if (op != 0x0) {
      in_message_ = true;
      binary_ = op == 0x2;
      utf8_.reset();
      message_.clear();
    }
    if (!binary_ && !utf8_.feed(data)) return fail(pos, close_invalid_payload, "text is not UTF-8");
    message_.append(data);
    if (fin) {
      if (!binary_ && !utf8_.complete())
        return fail(pos, close_invalid_payload, "text ends inside a character");
      in_message_ = false;
      result r;
      r.kind = event::message;
      r.consumed = pos;
      return r;
    }
  }
}

std::string frame_reader::take_message() {
  std::string out = std::move(message_);
  message_ = std::string();
  return out;
}

}  // namespace hubcast::http

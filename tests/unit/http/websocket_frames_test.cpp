#include <hubcast/http/websocket_frames.hpp>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

using hubcast::http::frame_reader;
using hubcast::http::utf8_validator;
using hubcast::http::ws_opcode;
using ev = frame_reader::event;

// A client frame: masked with a fixed key.
std::string client_frame(unsigned char first, std::string_view payload, bool masked = true,
                         int length_form = 0) {
  std::string f(1, static_cast<char>(first));
  const unsigned char mask_bit = masked ? 0x80 : 0;
  std::size_t n = payload.size();
  if (length_form == 0) length_form = n < 126 ? 7 : (n <= 0xFFFF ? 16 : 64);
  if (length_form == 7) {
    f += static_cast<char>(mask_bit | n);
  } else if (length_form == 16) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xff);
  }
  const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i)
    f += masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  return f;
}

struct fed {
  std::vector<frame_reader::result> events;
  std::vector<std::string> messages;
  std::vector<std::string> payloads;
};

// Feeds `bytes` in pieces of `step` bytes, as a socket would deliver them, keeping the
// unconsumed rest like direct_websocket does.
fed feed(frame_reader& r, const std::string& bytes, std::size_t step) {
  fed out;
  std::string held;
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    held += bytes.substr(i, step);
    for (;;) {
      auto res = r.next(std::span<char>(held.data(), held.size()));
      if (res.kind != ev::need_more) {
        out.events.push_back(res);
        out.payloads.emplace_back(res.payload);
        if (res.kind == ev::message) out.messages.push_back(r.take_message());
      }
      held.erase(0, res.consumed);
      if (res.kind == ev::need_more || res.kind == ev::error) break;
    }
    if (!out.events.empty() && out.events.back().kind == ev::error) break;
  }
  return out;
}

TEST(WebSocketFrames, ReadsEveryLengthFormAtEverySplit) {
  for (std::size_t len : {0u, 5u, 125u, 126u, 1000u, 65535u, 65536u, 70000u}) {
    std::string payload(len, 'a');
    for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string bytes = client_frame(0x81, payload);
    for (std::size_t step : {1u, 2u, 3u, 7u, 4096u, 1u << 20}) {
      if (len > 2000 && step < 7) continue;  // quadratic re-parsing, nothing new to learn
      frame_reader r;
      auto f = feed(r, bytes, step);
      ASSERT_EQ(f.messages.size(), 1u) << len << " / " << step;
      EXPECT_EQ(f.messages[0], payload);
      EXPECT_FALSE(r.message_binary());
    }
  }
}

TEST(WebSocketFrames, JoinsFragmentsWithControlFramesBetween) {
  frame_reader r;
  std::string bytes = client_frame(0x02, "ab") + client_frame(0x89, "ping!") +
                      client_frame(0x00, "cd") + client_frame(0x8A, "") + client_frame(0x80, "ef") +
                      client_frame(0x81, "next");
  auto f = feed(r, bytes, bytes.size());
  ASSERT_EQ(f.events.size(), 4u);
  EXPECT_EQ(f.events[0].kind, ev::ping);
  EXPECT_EQ(f.payloads[0], "ping!");
  EXPECT_EQ(f.events[1].kind, ev::pong);
  EXPECT_EQ(f.events[2].kind, ev::message);
  EXPECT_EQ(f.events[3].kind, ev::message);
  ASSERT_EQ(f.messages.size(), 2u);
  EXPECT_EQ(f.messages[0], "abcdef");
  EXPECT_EQ(f.messages[1], "next");
}

TEST(WebSocketFrames, ReadsCloseCodesAndReasons) {
  {
    frame_reader r;
    auto f = feed(r, client_frame(0x88, std::string("\x0f\xa0", 2) + "bye"), 100);
    ASSERT_EQ(f.events.size(), 1u);
    EXPECT_EQ(f.events[0].kind, ev::close);
    EXPECT_EQ(f.events[0].code, 4000);
    EXPECT_EQ(f.payloads[0], "bye");
  }
  {
    frame_reader r;
    auto f = feed(r, client_frame(0x88, ""), 100);
    ASSERT_EQ(f.events.size(), 1u);
    EXPECT_EQ(f.events[0].kind, ev::close);
    EXPECT_EQ(f.events[0].code, 0);
  }
}

std::uint16_t error_of(const std::string& bytes, std::size_t max = 1024 * 1024) {
  frame_reader r(max);
  auto f = feed(r, bytes, bytes.size());
  for (auto& e : f.events)
    if (e.kind == ev::error) return e.code;
  return 0;
}

TEST(WebSocketFrames, RefusesWhatTheProtocolForbids) {
  EXPECT_EQ(error_of(client_frame(0x81, "hi", false)), 1002);            // unmasked
  EXPECT_EQ(error_of(client_frame(0xC1, "hi")), 1002);                   // RSV1 (no extensions)
  EXPECT_EQ(error_of(client_frame(0x83, "hi")), 1002);                   // reserved data opcode
  EXPECT_EQ(error_of(client_frame(0x8B, "hi")), 1002);                   // reserved control opcode
  EXPECT_EQ(error_of(client_frame(0x09, "hi")), 1002);                   // fragmented ping
  EXPECT_EQ(error_of(client_frame(0x89, std::string(126, 'p'))), 1002);  // long ping
  EXPECT_EQ(error_of(client_frame(0x80, "hi")), 1002);  // continuation without a message
  EXPECT_EQ(error_of(client_frame(0x01, "a") + client_frame(0x81, "b")), 1002);  // interleaved
  EXPECT_EQ(error_of(client_frame(0x81, "hi", true, 16)), 1002);  // non-minimal 16-bit length
  EXPECT_EQ(error_of(client_frame(0x81, std::string(200, 'x'), true, 64)), 1002);
  EXPECT_EQ(error_of(client_frame(0x88, "x")), 1002);                         // one-byte close
  EXPECT_EQ(error_of(client_frame(0x88, std::string("\x03\xed", 2))), 1002);  // code 1005
  EXPECT_EQ(error_of(client_frame(0x88, std::string("\x03\xe7", 2))), 1002);  // code 999
  EXPECT_EQ(error_of(client_frame(0x88, std::string("\x13\x88", 2))), 1002);  // code 5000
  EXPECT_EQ(error_of(client_frame(0x88, std::string("\x03\xe8\xff", 3))), 1007);
  EXPECT_EQ(error_of(client_frame(0x81, "\xc3\x28")), 1007);          // bad continuation
  EXPECT_EQ(error_of(client_frame(0x81, "\xed\xa0\x80")), 1007);      // surrogate
  EXPECT_EQ(error_of(client_frame(0x81, "\xc0\xaf")), 1007);          // overlong
  EXPECT_EQ(error_of(client_frame(0x81, "\xf4\x90\x80\x80")), 1007);  // past U+10FFFF
  EXPECT_EQ(error_of(client_frame(0x81, "ok\xe2\x82")), 1007);        // ends mid-character
  EXPECT_EQ(error_of(client_frame(0x82, "\xff\xfe")), 0);             // binary: any bytes
  EXPECT_EQ(error_of(client_frame(0x81, "\xe2\x82\xac \xf0\x9f\x98\x80")), 0);
  // A character split between fragments is fine.
  EXPECT_EQ(error_of(client_frame(0x01, "\xe2\x82") + client_frame(0x80, "\xac")), 0);
}

TEST(WebSocketFrames, RefusesAMessageTooBigFromItsHeader) {
  // Only the header of a 2 MiB frame: refused before its payload arrives.
  std::string header = client_frame(0x82, std::string(2 * 1024 * 1024, 'x')).substr(0, 14);
  EXPECT_EQ(error_of(header), 1009);
  // Fragments adding up past the limit.
  EXPECT_EQ(error_of(client_frame(0x02, std::string(600, 'x')) +
                         client_frame(0x80, std::string(600, 'x')),
                     1000),
            1009);
  EXPECT_EQ(error_of(client_frame(0x82, std::string(1000, 'x')), 1000), 0);
  // A 64-bit length with the top bit set.
  std::string huge("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10);
  EXPECT_EQ(error_of(huge + "abcd"), 1002);
}

TEST(WebSocketFrames, Utf8ValidatorAcrossPieces) {
  std::string text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 and some ASCII after it";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    utf8_validator v;
    ASSERT_TRUE(v.feed(std::string_view(text).substr(0, cut)));
    ASSERT_TRUE(v.feed(std::string_view(text).substr(cut)));
    EXPECT_TRUE(v.complete());
  }
}

TEST(WebSocketFrames, WritesServerFrames) {
  unsigned char h[hubcast::http::ws_max_header];
  EXPECT_EQ(hubcast::http::write_frame_header(h, ws_opcode::text, 5), 2u);
  EXPECT_EQ(h[0], 0x81);
  EXPECT_EQ(h[1], 5);
  EXPECT_EQ(hubcast::http::write_frame_header(h, ws_opcode::binary, 300), 4u);
  EXPECT_EQ(h[0], 0x82);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ((h[2] << 8) | h[3], 300);
  EXPECT_EQ(hubcast::http::write_frame_header(h, ws_opcode::binary, 70000), 10u);
  EXPECT_EQ(h[1], 127);
  EXPECT_EQ(hubcast::http::make_close_frame(1002), std::string("\x88\x02\x03\xea", 4));
  EXPECT_EQ(hubcast::http::make_control_frame(ws_opcode::pong, std::string(200, 'x')).size(),
            127u);  // cut to 125 bytes
}

}  // namespace

// The C++ client reads server frames: unmasked, and a masked one is a protocol error.
TEST(WebSocketFrames, AClientReadsUnmaskedServerFramesOnly) {
  using hubcast::http::ws_role;
  frame_reader client(1024, ws_role::client);
  std::string bytes = client_frame(0x81, "hello", false) + client_frame(0x89, "p", false);
  auto r = client.next(std::span<char>(bytes.data(), bytes.size()));
  ASSERT_EQ(r.kind, ev::message);
  EXPECT_EQ(client.take_message(), "hello");
  bytes.erase(0, r.consumed);
  r = client.next(std::span<char>(bytes.data(), bytes.size()));
  ASSERT_EQ(r.kind, ev::ping);
  EXPECT_EQ(r.payload, "p");

  frame_reader strict(1024, ws_role::client);
  std::string masked = client_frame(0x81, "hi");
  r = strict.next(std::span<char>(masked.data(), masked.size()));
  EXPECT_EQ(r.kind, ev::error);
  EXPECT_EQ(r.code, 1002);
}

TEST(WebSocketFrames, MaskedFramesAreWhatAServerReads) {
  const unsigned char key[4] = {0xa1, 0xb2, 0xc3, 0xd4};
  std::string payload(300, 'z');
  std::string f = hubcast::http::make_masked_frame(ws_opcode::binary, payload, key);
  EXPECT_EQ(static_cast<unsigned char>(f[1]), 0x80 | 126);
  frame_reader server;
  auto r = server.next(std::span<char>(f.data(), f.size()));
  ASSERT_EQ(r.kind, ev::message);
  EXPECT_TRUE(server.message_binary());
  EXPECT_EQ(server.take_message(), payload);
  std::string close = hubcast::http::make_masked_close_frame(4000, key);
  r = server.next(std::span<char>(close.data(), close.size()));
  ASSERT_EQ(r.kind, ev::close);
  EXPECT_EQ(r.code, 4000);
}

// The C++ client's WebSocket against a raw server that sends frames as a broken or hostile
// server would (RFC 6455, Autobahn-style, the client's side): the client answers each violation
// with the close code the server would send (1002, 1007), reads what is legal (fragments with
// control frames between them), masks every frame it sends, and ends cleanly on a close.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <hubcast/client/hub_connection.hpp>
#include <hubcast/client/transport.hpp>
#include "test_support.hpp"

namespace asio = boost::asio;
namespace hc = hubcast::client;
using asio::ip::tcp;
using hubcast::test::run_async;

namespace {

// A server frame: `first` is the first header byte; masked only when told (servers must not).
std::string frame(unsigned char first, std::string_view payload, bool masked = false) {
  std::string out(1, static_cast<char>(first));
  const std::size_t n = payload.size();
  const unsigned char bit = masked ? 0x80 : 0;
  if (n < 126) {
    out += static_cast<char>(bit | n);
  } else {
    out += static_cast<char>(bit | 126);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  if (!masked) return out.append(payload);
  const unsigned char key[4] = {1, 2, 3, 4};
  out.append(reinterpret_cast<const char*>(key), 4);
  for (std::size_t i = 0; i < n; ++i) out += static_cast<char>(payload[i] ^ key[i & 3]);
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return p.append(reason);
}

struct client_frame {
  unsigned char first = 0;
  bool masked = false;
  std::string payload;  // unmasked
};

// One connection: answers the upgrade, writes `script`, then records the client's frames until
// its close frame (or the connection ends, or 5 s pass).
class raw_server {
 public:
  explicit raw_server(std::string script)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~raw_server() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const {
    return "ws://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/hub";
  }
  // After the connection ended: what the client sent.
  std::vector<client_frame> frames() {
    if (thread_.joinable()) thread_.join();
    return frames_;
  }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::string script_;
  std::thread thread_;
  std::vector<client_frame> frames_;

  static std::string accept_key(const std::string& key) {
    std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(in.data(), in.size(), digest, &size, EVP_sha1(), nullptr);
    unsigned char out[64];
    int n = EVP_EncodeBlock(out, digest, static_cast<int>(size));
    return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
  }

  void serve() {
    try {
      tcp::socket s(ioc_);
      acceptor_.accept(s);
      asio::streambuf head;
      asio::read_until(s, head, "\r\n\r\n");
      std::string request(asio::buffers_begin(head.data()), asio::buffers_end(head.data()));
      auto at = request.find("Sec-WebSocket-Key: ");
      if (at == std::string::npos) at = request.find("sec-websocket-key: ");
      auto key = request.substr(at + 19, request.find("\r\n", at) - at - 19);
      std::string answer =
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
          accept_key(key) + "\r\n\r\n";
      asio::write(s, asio::buffer(answer + script_));
      // The client's frames (masked), until its close.
      std::string rest(asio::buffers_begin(head.data()) +
                           static_cast<std::ptrdiff_t>(request.find("\r\n\r\n") + 4),
                       asio::buffers_end(head.data()));
      struct timeval tv {
        5, 0
      };
      ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      for (;;) {
        while (rest.size() >= 2) {
          auto b1 = static_cast<unsigned char>(rest[1]);
          std::size_t len = b1 & 0x7f, off = 2;
          if (len == 126) {
            if (rest.size() < 4) break;
            len = (static_cast<unsigned char>(rest[2]) << 8) | static_cast<unsigned char>(rest[3]);
            off = 4;
          } else if (len == 127) {
            if (rest.size() < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(rest[2 + i]);
            off = 10;
          }
          const bool masked = b1 & 0x80;
          const std::size_t key_at = off;
          if (masked) off += 4;
          if (rest.size() < off + len) break;
          client_frame f{static_cast<unsigned char>(rest[0]), masked, rest.substr(off, len)};
          if (masked)
            for (std::size_t i = 0; i < len; ++i) f.payload[i] ^= rest[key_at + (i & 3)];
          frames_.push_back(f);
          rest.erase(0, off + len);
          if ((f.first & 0x0f) == 0x8) return;  // the client's close: done
        }
        char buf[4096];
        boost::system::error_code ec;
        std::size_t n = s.read_some(asio::buffer(buf), ec);
        if (ec) return;
        rest.append(buf, n);
      }
    } catch (const std::exception&) {
      // The connection ended: what was recorded stands.
    }
  }
};

std::uint16_t code_of(const client_frame& f) {
  if (f.payload.size() < 2) return 0;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(f.payload[0]) << 8) |
                                    static_cast<unsigned char>(f.payload[1]));
}

// Connects the client's WebSocket transport to `server`, reads until it returns nothing or
// throws: the messages read, and the error text if it threw.
struct outcome {
  std::vector<std::string> messages;
  std::optional<std::string> error;
};

outcome run_client(raw_server& server,
                   std::function<asio::awaitable<void>(hc::detail::transport&)> before = {}) {
  return run_async([&]() -> asio::awaitable<outcome> {
    auto ex = co_await asio::this_coro::executor;
    auto t = hc::detail::make_websocket_transport(ex, nullptr, false);
    co_await t->connect(server.url(), {}, false);
    if (before) co_await before(*t);
    outcome o;
    try {
      for (;;) {
        auto m = co_await t->receive();
        if (!m) break;
        o.messages.push_back(*m);
      }
    } catch (const std::exception& e) {
      o.error = e.what();
    }
    t->abort();
    co_return o;
  }());
}

}  // namespace

TEST(ClientWebSocketFrames, ReadsFragmentsAroundControlFramesAndAnswersPingsMasked) {
  raw_server server(frame(0x01, "hel") + frame(0x89, "between") + frame(0x00, "l") +
                    frame(0x8a, "unsolicited") + frame(0x80, "o") +
                    frame(0x82, std::string(300, 'b')) + frame(0x88, close_payload(1000)));
  auto o = run_client(server, [](hc::detail::transport& t) -> asio::awaitable<void> {
    co_await t.send("from the client");
  });
  EXPECT_FALSE(o.error) << *o.error;
  ASSERT_EQ(o.messages.size(), 2u);
  EXPECT_EQ(o.messages[0], "hello");
  EXPECT_EQ(o.messages[1], std::string(300, 'b'));
  auto sent = server.frames();
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& f : sent) EXPECT_TRUE(f.masked) << "every client frame is masked";
  EXPECT_EQ(sent[0].first, 0x81);
  EXPECT_EQ(sent[0].payload, "from the client");
  EXPECT_EQ(sent[1].first, 0x8a);
  EXPECT_EQ(sent[1].payload, "between") << "the pong carries the ping's payload";
  EXPECT_EQ(sent[2].first, 0x88);
  EXPECT_EQ(code_of(sent[2]), 1000) << "the server's close echoed";
}

TEST(ClientWebSocketFrames, AServerCloseEndsReadingWithItsCode) {
  for (auto [payload, echo, error] :
       std::vector<std::tuple<std::string, std::uint16_t, const char*>>{
           {close_payload(1000, "done"), 1000, nullptr},
           {"", 1000, nullptr},  // no code: answered with 1000, a normal end
           {close_payload(4000, "bye"), 4000, "WebSocket closed with status code: 4000 (bye)."},
           {close_payload(1011, "oops"), 1011, "WebSocket closed with status code: 1011 (oops)."},
       }) {
    raw_server server(frame(0x81, "x") + frame(0x88, payload) + frame(0x81, "after close"));
    auto o = run_client(server);
    EXPECT_EQ(o.messages, std::vector<std::string>{"x"}) << "nothing after the close is read";
    if (error) {
      ASSERT_TRUE(o.error);
      EXPECT_EQ(*o.error, error);
    } else {
      EXPECT_FALSE(o.error) << *o.error;
    }
    auto sent = server.frames();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(code_of(sent[0]), echo);
  }
}

TEST(ClientWebSocketFrames, AnswersEachViolationWithTheServersCode) {
  const std::string bad_utf8("\x7b\xc3\x28", 3);
  for (auto [name, script, code] : std::vector<std::tuple<const char*, std::string, std::uint16_t>>{
           {"a masked server frame", frame(0x81, "hi", true), 1002},
           {"reserved bit 1", frame(0xc1, "hi"), 1002},
           {"reserved bits 7", frame(0xf1, "hi"), 1002},
           {"opcode 3", frame(0x83, "hi"), 1002},
           {"opcode 11", frame(0x8b, "hi"), 1002},
           {"a fragmented ping", frame(0x09, "hi"), 1002},
           {"a ping of 126 bytes", frame(0x89, std::string(126, 'p')), 1002},
           {"a continuation without a message", frame(0x80, "hi"), 1002},
           {"a new message inside a fragmented one", frame(0x01, "a") + frame(0x81, "b"), 1002},
           {"a close of one byte", frame(0x88, std::string(1, '\x03')), 1002},
           {"close code 1005", frame(0x88, close_payload(1005)), 1002},
           {"close code 999", frame(0x88, close_payload(999)), 1002},
           {"close code 5000", frame(0x88, close_payload(5000)), 1002},
           {"text that is not UTF-8", frame(0x81, bad_utf8), 1007},
           {"UTF-8 broken across fragments", frame(0x01, "a\xe2") + frame(0x80, "(a"), 1007},
           {"a close reason that is not UTF-8", frame(0x88, close_payload(1000, "\xc3\x28")), 1007},
       }) {
    raw_server server(script);
    auto o = run_client(server);
    ASSERT_TRUE(o.error) << name;
    EXPECT_NE(o.error->find("(close " + std::to_string(code) + ")"), std::string::npos)
        << name << ": " << *o.error;
    auto sent = server.frames();
    ASSERT_EQ(sent.size(), 1u) << name;
    EXPECT_EQ(sent[0].first, 0x88) << name;
    EXPECT_TRUE(sent[0].masked) << name;
    EXPECT_EQ(code_of(sent[0]), code) << name;
  }
}

TEST(ClientWebSocketFrames, StopSendsCloseAndWaitsForTheServersAnswer) {
  // The server answers the client's close with its own after reading it; stop() returns then.
  raw_server server(frame(0x81, "x"));
  auto sent = run_async([&]() -> asio::awaitable<std::vector<client_frame>> {
    auto ex = co_await asio::this_coro::executor;
    auto t = hc::detail::make_websocket_transport(ex, nullptr, false);
    co_await t->connect(server.url(), {}, false);
    auto m = co_await t->receive();
    EXPECT_EQ(m, std::optional<std::string>("x"));
    co_await t->stop();  // the raw server never answers: bounded by the 5 s close timeout
    co_return server.frames();
  }());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, 0x88);
  EXPECT_EQ(code_of(sent[0]), 1000);
}

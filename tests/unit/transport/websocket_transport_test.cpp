// The WebSockets transport's direct write path over a real socket pair: framing, coalescing,
// a full kernel buffer, control frames between data frames, the end of the output.
#include <hubcast/transport/websocket_transport.hpp>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

using namespace hubcast;
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// An http::websocket whose write side is one end of a socket pair. `tls_like`: writes behave as
// a TLS session's: all or nothing, and a write that could not finish must be offered again,
// beginning with the same bytes (what OpenSSL requires; checked here).
class fake_websocket final : public http::websocket, public http::direct_socket {
 public:
  fake_websocket(asio::io_context& ctx, int fd) : sock_(ctx, asio::local::stream_protocol(), fd) {}

  asio::awaitable<error_code> async_read(std::string&, bool&) override {
    co_return asio::error::operation_not_supported;
  }
  asio::awaitable<error_code> async_write(std::span<const std::string_view>, bool) override {
    co_return asio::error::operation_not_supported;  // never on the direct path
  }
  asio::awaitable<error_code> async_close(std::uint16_t code) override {
    close_code = code;
    co_return error_code{};
  }
  void abort() override {
    aborted = true;
    error_code ec;
    sock_.close(ec);
  }
  void set_read_limit(std::size_t) override {}
  bool peer_closed() const override { return false; }
  asio::any_io_executor get_executor() override { return sock_.get_executor(); }
  http::direct_socket* direct() override { return this; }

  int native_handle() { return sock_.native_handle(); }
  http::write_result write(const iovec* iov, std::size_t n) override {
    http::write_result r;
    std::string data;
    for (std::size_t i = 0; i < n; ++i)
      data.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    std::size_t from = 0;
    if (tls_like && !owed_.empty()) {
      EXPECT_EQ(data.substr(0, owed_.size()), owed_) << "a repeated TLS write changed its bytes";
      from = owed_sent_;
    }
    auto w = ::send(sock_.native_handle(), data.data() + from, data.size() - from,
                    MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      r.ec = error_code(errno, boost::system::system_category());
      return r;
    }
    const std::size_t sent = from + static_cast<std::size_t>(w < 0 ? 0 : w);
    if (!tls_like) {
      r.written = sent;
      r.blocked = sent < data.size();
      return r;
    }
    if (sent == data.size()) {
      owed_.clear();
      r.written = sent;
      return r;
    }
    ++repeats;
    owed_ = data;
    owed_sent_ = sent;
    r.blocked = true;
    r.repeat = true;
    return r;
  }
  void async_wait_writable(std::function<void(error_code)> done) override {
    sock_.async_wait(asio::socket_base::wait_write, std::move(done));
  }
  void acquire(std::function<void()> on_control) override { on_control_ = std::move(on_control); }
  std::string take_control() override { return std::exchange(control_, std::string()); }
  void control_written(error_code ec) override {
    if (!ec) ++controls_written;
  }
  void release() override { released = true; }

  // What Beast would do on a ping: a pong frame for the owner to write.
  void inject_control(std::string frame) {
    control_ += frame;
    if (on_control_) on_control_();
  }

  int close_code = 0;
  bool aborted = false;
  bool released = false;
  int controls_written = 0;
  bool tls_like = false;
  int repeats = 0;

 private:
  std::string owed_;  // tls_like: the bytes of the write that could not finish
  std::size_t owed_sent_ = 0;
  asio::local::stream_protocol::socket sock_;
  std::function<void()> on_control_;
  std::string control_;
};

struct frame {
  int opcode;
  std::string payload;
};

// Parses unmasked server frames; stops at an incomplete one.
std::vector<frame> parse_frames(const std::string& b) {
  std::vector<frame> out;
  std::size_t i = 0;
  while (i + 2 <= b.size()) {
    auto b0 = static_cast<unsigned char>(b[i]), b1 = static_cast<unsigned char>(b[i + 1]);
    EXPECT_TRUE(b0 & 0x80) << "FIN";
    EXPECT_FALSE(b1 & 0x80) << "a server frame is never masked";
    std::size_t len = b1 & 0x7f, h = 2;
    if (len == 126) {
      if (i + 4 > b.size()) break;
      len = (std::size_t(static_cast<unsigned char>(b[i + 2])) << 8) |
            static_cast<unsigned char>(b[i + 3]);
      h = 4;
    } else if (len == 127) {
      if (i + 10 > b.size()) break;
      len = 0;
      for (int k = 0; k < 8; ++k) len = (len << 8) | static_cast<unsigned char>(b[i + 2 + k]);
      h = 10;
    }
    if (i + h + len > b.size()) break;
    out.push_back({b0 & 0x0f, b.substr(i + h, len)});
    i += h + len;
  }
  return out;
}

class WebSocketTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    peer_ = fds[1];
    auto ws = std::make_unique<fake_websocket>(ctx_, fds[0]);
    ws_ = ws.get();
    conn_ = std::make_shared<transport::connection>("id", "token", 1, limits_);
    conn_->attach(transport::transport_type::websockets, http::request{}, 0, ctx_.get_executor(),
                  ws_);
    transport_ = std::make_shared<transport::websocket_transport>(conn_, std::move(ws));
  }
  void TearDown() override {
    if (peer_ >= 0) ::close(peer_);
  }

  void start() {
    transport_->start([this] { done_ = true; });
  }
  void run_a_while(int ms = 20) {
    ctx_.restart();
    ctx_.run_for(std::chrono::milliseconds(ms));
  }
  void send(std::string s) {
    ASSERT_EQ(conn_->try_send(std::make_shared<const std::string>(std::move(s))),
              transport::send_result::ok);
  }
  // Everything the peer can read right now.
  std::string read_peer() {
    std::string out;
    char buf[65536];
    for (;;) {
      pollfd p{peer_, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
      auto n = ::read(peer_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  // Writes 3,000 messages and a pong through a 4 KiB kernel buffer; everything arrives whole.
  void full_buffer_case();

  asio::io_context ctx_;
  transport::queue_limits limits_{};
  int peer_ = -1;
  fake_websocket* ws_ = nullptr;
  std::shared_ptr<transport::connection> conn_;
  std::shared_ptr<transport::websocket_transport> transport_;
  bool done_ = false;
};

TEST_F(WebSocketTransport, SendsQueuedHubMessagesAsOneTextFrame) {
  send("{\"a\":1}\x1e");
  send("{\"b\":2}\x1e");
  start();
  run_a_while();
  auto frames = parse_frames(read_peer());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 1);
  EXPECT_EQ(frames[0].payload, "{\"a\":1}\x1e{\"b\":2}\x1e");
  // Idle again: the next send is written at the next turn of the loop, on its own.
  send("{\"c\":3}\x1e");
  run_a_while();
  frames = parse_frames(read_peer());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "{\"c\":3}\x1e");
}

TEST_F(WebSocketTransport, RawConnectionsGetOneBinaryFramePerSendWithEveryLengthForm) {
  conn_->set_coalesce(false);
  conn_->set_binary(true);
  std::string small(5, 's'), medium(300, 'm'), large(70000, 'l');
  send(small);
  send(medium);
  send(large);
  start();
  std::string got;
  for (int i = 0; i < 50 && got.size() < 70000 + 300 + 5 + 16; ++i) {
    run_a_while(5);
    got += read_peer();
  }
  auto frames = parse_frames(got);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].opcode, 2);
  EXPECT_EQ(frames[0].payload, small);
  EXPECT_EQ(frames[1].payload, medium);
  EXPECT_EQ(frames[2].payload, large);
  EXPECT_EQ(static_cast<unsigned char>(got[2 + 5 + 1]), 126);  // 16-bit length form
}

TEST_F(WebSocketTransport, AFullKernelBufferLosesNothingAndControlFramesStayWhole) {
  full_buffer_case();
}

TEST_F(WebSocketTransport, ATlsWriteThatMustBeRepeatedGoesAgainWholeAndFirst) {
  ws_->tls_like = true;
  full_buffer_case();
  EXPECT_GT(ws_->repeats, 0) << "the kernel buffer never filled";
}

void WebSocketTransport::full_buffer_case() {
  int small = 4096;
  ASSERT_EQ(::setsockopt(ws_->native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  std::string expected;
  start();
  run_a_while(1);
  for (int i = 0; i < 3000; ++i) {
    std::string m = "message " + std::to_string(i) + std::string(200, '.') + "\x1e";
    expected += m;
    send(m);
    if (i == 1500) ws_->inject_control(std::string("\x8a\x02hi", 4));  // a pong
  }
  std::string got;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    char buf[8192];
    for (;;) {
      // Once told to stop, it still drains what the socket holds (a loaded machine may not
      // have scheduled this thread while the transport wrote the last bytes).
      const bool last = stop;
      pollfd p{peer_, POLLIN, 0};
      if (::poll(&p, 1, last ? 200 : 10) <= 0) {
        if (last) break;
        continue;
      }
      auto n = ::read(peer_, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
  });
  for (int i = 0; i < 500 && conn_->queued_bytes() > 0; ++i) run_a_while(5);
  run_a_while(20);
  stop = true;
  reader.join();
  EXPECT_EQ(conn_->queued_bytes(), 0u);
  auto frames = parse_frames(got);
  std::string data;
  int pongs = 0;
  for (auto& f : frames) {
    if (f.opcode == 0xA) {
      ++pongs;
      EXPECT_EQ(f.payload, "hi");
    } else {
      EXPECT_EQ(f.opcode, 1);
      data += f.payload;
    }
  }
  EXPECT_EQ(pongs, 1);
  EXPECT_EQ(ws_->controls_written, 1);
  EXPECT_EQ(data, expected);
  EXPECT_GT(frames.size(), 2u) << "a full buffer splits the output into several writes";
}

TEST_F(WebSocketTransport, CompletingFlushesThenClosesWith1000) {
  start();
  run_a_while(1);
  send("last\x1e");
  conn_->complete();
  run_a_while();
  EXPECT_TRUE(done_);
  EXPECT_TRUE(ws_->released);
  EXPECT_EQ(ws_->close_code, 1000);
  EXPECT_FALSE(ws_->aborted);
  auto frames = parse_frames(read_peer());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "last\x1e");
}

TEST_F(WebSocketTransport, AbortDropsTheSocketWithoutAClose) {
  start();
  run_a_while(1);
  send("dropped\x1e");
  conn_->abort();
  run_a_while();
  EXPECT_TRUE(done_);
  EXPECT_TRUE(ws_->aborted);
  EXPECT_EQ(ws_->close_code, 0);
}

TEST_F(WebSocketTransport, APeerThatIsGoneFailsTheWriteAndAbortsTheConnection) {
  ::close(peer_);
  peer_ = -1;
  start();
  run_a_while(1);
  send("nobody\x1e");
  run_a_while();
  EXPECT_TRUE(done_);
  EXPECT_TRUE(conn_->is_aborted());
  EXPECT_EQ(ws_->close_code, 0);
}

}  // namespace

// hubcast-ceiling: the bare-kernel ceiling of the broadcast benchmark. It accepts WebSocket
// upgrades (just enough HTTP), and every text frame a client sends is framed once and written to
// every connection (the sender included) — no protocol, no parsing beyond the frame header, no
// per-recipient work but the write. Whatever a real server does costs on top of this.
//
//   hubcast-ceiling --port 0     (prints "Now listening on: http://127.0.0.1:PORT")
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct peer : std::enable_shared_from_this<peer> {
  explicit peer(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  std::string pending, writing;
  bool busy = false;
  bool open = true;

  // Coalesces: while a write is in flight, frames accumulate and go out in the next one.
  void send(const std::string& frame) {
    if (!open) return;
    pending += frame;
    if (!busy) flush();
  }
  void flush() {
    busy = true;
    writing.swap(pending);
    pending.clear();
    asio::async_write(socket, asio::buffer(writing),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->busy = false;
                        if (ec) {
                          self->open = false;
                          return;
                        }
                        if (!self->pending.empty()) self->flush();
                      });
  }
};

std::unordered_set<std::shared_ptr<peer>> peers;

std::string accept_key(const std::string& key) {
  std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::string server_frame(unsigned char opcode, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() < 65536) {
    f.push_back(126);
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(127);
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
  }
  f.append(payload);
  return f;
}

asio::awaitable<void> serve(tcp::socket socket) {
  asio::streambuf buf;
  auto [ec, n] =
      co_await asio::async_read_until(socket, buf, "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
  if (ec) co_return;
  std::string head(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + n);
  buf.consume(n);
  std::string key;
  for (std::size_t pos = 0; pos < head.size();) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos) break;
    std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    if (line.size() > 18 && strncasecmp(line.c_str(), "Sec-WebSocket-Key:", 18) == 0) {
      key = line.substr(18);
      while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    }
  }
  if (key.empty()) co_return;
  std::string response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      accept_key(key) + "\r\n\r\n";
  co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
  auto self = std::make_shared<peer>(std::move(socket));
  peers.insert(self);
  std::string in(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  char chunk[65536];
  for (;;) {
    // Parse every complete frame in `in`.
    for (;;) {
      if (in.size() < 2) break;
      auto b0 = static_cast<unsigned char>(in[0]), b1 = static_cast<unsigned char>(in[1]);
      std::size_t len = b1 & 0x7f, off = 2;
      if (len == 126) {
        if (in.size() < 4) break;
        len = (static_cast<unsigned char>(in[2]) << 8) | static_cast<unsigned char>(in[3]);
        off = 4;
      } else if (len == 127) {
        if (in.size() < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(in[2 + i]);
        off = 10;
      }
      bool masked = b1 & 0x80;
      std::size_t total = off + (masked ? 4 : 0) + len;
      if (in.size() < total) break;
      std::string payload = in.substr(off + (masked ? 4 : 0), len);
      if (masked)
        for (std::size_t i = 0; i < len; ++i) payload[i] ^= in[off + (i & 3)];
      in.erase(0, total);
      unsigned char opcode = b0 & 0x0f;
      if (opcode == 8) {
        self->send(server_frame(8, ""));
        self->open = false;
        peers.erase(self);
        co_return;
      }
      if (opcode == 9) {
        self->send(server_frame(10, payload));
      } else if (opcode == 1 || opcode == 2) {
        // Framed once, written to everyone.
        std::string frame = server_frame(opcode, payload);
        for (auto& p : peers) p->send(frame);
      }
    }
    auto [rec, got] = co_await self->socket.async_read_some(asio::buffer(chunk),
                                                            asio::as_tuple(asio::use_awaitable));
    if (rec) break;
    in.append(chunk, got);
  }
  self->open = false;
  peers.erase(self);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--port")
      port = static_cast<unsigned short>(std::stoi(argv[i + 1]));
  asio::io_context ioc(1);
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  acceptor.listen(4096);
  std::cout << "Now listening on: http://127.0.0.1:" << acceptor.local_endpoint().port()
            << std::endl;
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { ioc.stop(); });
  asio::co_spawn(ioc, accept_loop(acceptor), asio::detached);
  ioc.run();
}

// One load-generator WebSocket connection, spoken directly on the socket. It is set up with Asio
// (connect, upgrade, handshake), then its socket leaves Asio for the epoll_reader (reads into one
// shared scratch buffer) and writes go straight to send(2), coalesced while the kernel is full.
// Client frames use a zero masking key (valid framing, no payload copy). Over TLS (wss://) the
// socket is non-blocking from the start and OpenSSL reads and writes it (SSL_set_fd).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace hubcast_bench {

class bench;

struct connection : std::enable_shared_from_this<connection> {
  explicit connection(boost::asio::io_context& ioc) : sock(ioc) {}
  boost::asio::ip::tcp::socket sock;
  std::string in;         // bytes of an incomplete frame
  std::string fragments;  // a fragmented message so far
  std::string pending, writing;
  bool busy = false;  // an Asio write is in flight (set-up only)
  bool open = false;
  bool binary = false;
  std::uint64_t next_id = 0;
  bench* owner = nullptr;
  std::deque<std::string> setup_messages;  // messages read before the read loop runs
  SSL* ssl = nullptr;                      // wss://: OpenSSL on the socket's descriptor

 private:
  int fd_ = -1;  // the socket once released from Asio

 public:
  static std::string frame(std::string_view payload, bool binary, unsigned char opcode = 0) {
    std::string f;
    f.reserve(payload.size() + 14);
    f.push_back(static_cast<char>(0x80 | (opcode ? opcode : (binary ? 2 : 1))));
    if (payload.size() < 126) {
      f.push_back(static_cast<char>(0x80 | payload.size()));
    } else if (payload.size() < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(payload.size() >> 8));
      f.push_back(static_cast<char>(payload.size() & 0xff));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i)
        f.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
    }
    f.append(4, '\0');  // masking key 0
    f.append(payload);
    return f;
  }

  // `data` is a complete frame (from frame()).
  void send_frame(const std::string& data) {
    if (!open) return;
    pending += data;
    if (fd_ >= 0 || ssl)
      write_direct();
    else if (!busy)
      flush();
  }

  // After set-up, with no Asio write in flight: the socket leaves Asio (non-blocking).
  int release() {
    sock.non_blocking(true);
    fd_ = sock.release();
    return fd_;
  }
  int fd() const { return fd_; }
  bool is_open() const { return open; }
  void on_writable() {
    if (!pending.empty()) write_direct();
  }
  void close() {
    open = false;
    if (ssl) {
      SSL_free(ssl);
      ssl = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    } else {
      boost::system::error_code ec;
      sock.close(ec);
    }
  }
  ~connection() {
    if (ssl) SSL_free(ssl);
    if (fd_ >= 0) ::close(fd_);
  }
  void send(const std::shared_ptr<const std::string>& payload) {
    send_frame(frame(*payload, binary));
  }
  void flush() {
    busy = true;
    writing.swap(pending);
    pending.clear();
    boost::asio::async_write(
        sock, boost::asio::buffer(writing),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          self->busy = false;
          if (ec) {
            self->open = false;
            return;
          }
          if (!self->pending.empty()) self->flush();
        });
  }

  void write_direct() {
    std::size_t done = 0;
    if (ssl) {
      while (done < pending.size()) {
        std::size_t n = 0;
        int r = SSL_write_ex(ssl, pending.data() + done, pending.size() - done, &n);
        if (r == 1) {
          done += n;
          continue;
        }
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) open = false;
        break;  // EPOLLOUT resumes (the same bytes again: ACCEPT_MOVING_WRITE_BUFFER)
      }
      pending.erase(0, done);
      return;
    }
    while (done < pending.size()) {
      ssize_t n =
          ::send(fd_, pending.data() + done, pending.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // EPOLLOUT resumes
      open = false;
      break;
    }
    pending.erase(0, done);
  }

  // Parses complete frames out of `data` (+ what was left before); calls `deliver` per message.
  template <class F>
  bool consume(std::string_view data, F&& deliver) {
    std::string_view view;
    if (in.empty()) {
      view = data;
    } else {
      in.append(data);
      view = in;
    }
    std::size_t used = 0;
    for (;;) {
      auto rest = view.substr(used);
      if (rest.size() < 2) break;
      auto b0 = static_cast<unsigned char>(rest[0]), b1 = static_cast<unsigned char>(rest[1]);
      std::uint64_t len = b1 & 0x7f;
      std::size_t off = 2;
      if (len == 126) {
        if (rest.size() < 4) break;
        len = (static_cast<unsigned>(static_cast<unsigned char>(rest[2])) << 8) |
              static_cast<unsigned char>(rest[3]);
        off = 4;
      } else if (len == 127) {
        if (rest.size() < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(rest[2 + i]);
        off = 10;
      }
      if (b1 & 0x80) off += 4;  // servers do not mask; tolerate it anyway (payload unread)
      if (rest.size() < off + len) break;
      auto payload = rest.substr(off, static_cast<std::size_t>(len));
      used += off + static_cast<std::size_t>(len);
      unsigned char opcode = b0 & 0x0f;
      bool fin = b0 & 0x80;
      if (opcode == 8) return false;
      if (opcode == 9) {
        send_frame(frame(payload, false, 10));
        continue;
      }
      if (opcode == 10) continue;
      if (!fin || opcode == 0) {
        fragments.append(payload);
        if (fin) {
          std::string whole = std::move(fragments);
          fragments.clear();
          deliver(std::string_view(whole));
        }
        continue;
      }
      deliver(payload);
    }
    if (in.empty()) {
      if (used < data.size()) in.assign(data.substr(used));
    } else {
      in.erase(0, used);
    }
    return true;
  }
};

}  // namespace hubcast_bench

// Internal to http/: an Asio stream (async_read_some, async_write_some, any completion token)
// over a tls_session on the socket's own descriptor, for Beast's HTTP reads and writes, the
// streaming responses and the message-by-message WebSocket. A timeout as Beast's tcp_stream has
// one (expires_after: the operation in progress and the next ones fail with
// beast::error::timeout). After a WebSocket upgrade the socket and the session move on to the
// WebSocket (release()).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>

#include <hubcast/http/tls_session.hpp>

namespace hubcast::http::detail {

class tls_stream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  tls_stream(boost::asio::ip::tcp::socket socket, ssl_ctx_st* ctx);
  tls_stream(tls_stream&& other) noexcept;
  tls_stream& operator=(tls_stream&&) = delete;
  ~tls_stream();

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  tls_session* session() { return session_.get(); }  // nullptr once released

  // The operation in progress and every later one fail with beast::error::timeout once `d`
  // has passed (the socket's waits are cancelled).
  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();

  // Gives the socket and the session away (a WebSocket takes them over).
  std::pair<boost::asio::ip::tcp::socket, std::unique_ptr<tls_session>> release();

  template <class Token>
  auto async_handshake(Token&& token) {
    return async_run<false>([](tls_session& s) { return s.handshake(); },
                            std::forward<Token>(token));
  }
  // Sends close_notify; the caller then closes the socket.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return async_run<false>([](tls_session& s) { return s.shutdown(); },
                            std::forward<Token>(token));
  }

  // Into the first non-empty buffer: at most one TLS record's data.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::mutable_buffer b(*it); b.size() > 0) {
        first = b;
        break;
      }
    return async_run<true>(
        [first](tls_session& s) {
          if (first.size() == 0) return tls_io{};
          return s.read(first.data(), first.size());
        },
        std::forward<Token>(token));
  }

  // Up to 64 KiB of the buffers, gathered into one write (records of up to 16 KiB). A write
  // that waits is repeated with the same bytes: gathered again from the same buffers.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return async_run<true>(
        [buffers](tls_session& s) {
          auto it = boost::asio::buffer_sequence_begin(buffers);
          auto end = boost::asio::buffer_sequence_end(buffers);
          std::size_t total = 0;
          const void* single = nullptr;
          std::size_t parts = 0;
          for (auto i = it; i != end && total < gather_limit; ++i) {
            boost::asio::const_buffer b(*i);
            if (b.size() == 0) continue;
            if (parts++ == 0) single = b.data();
            total += b.size();
          }
          if (total == 0) return tls_io{};
          if (parts == 1) return s.write(single, std::min(total, gather_limit));
          char* g = gather_buffer();
          std::size_t n = 0;
          for (auto i = it; i != end && n < gather_limit; ++i) {
            boost::asio::const_buffer b(*i);
            std::size_t take = std::min(b.size(), gather_limit - n);
            std::copy_n(static_cast<const char*>(b.data()), take, g + n);
            n += take;
          }
          return s.write(g, n);
        },
        std::forward<Token>(token));
  }

 private:
  static constexpr std::size_t gather_limit = 64 * 1024;
  static char* gather_buffer();  // the thread's; filled and written in one call

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<tls_session> session_;
  std::unique_ptr<boost::asio::steady_timer> timer_;  // only while a timeout is set
  std::shared_ptr<bool> expired_;                     // shared with the timer's handler

  boost::system::error_code wait_error(boost::system::error_code ec) const {
    if (ec == boost::asio::error::operation_aborted && expired_ && *expired_)
      return boost::beast::error::timeout;
    return ec;
  }

  // Calls `step` until it is done, waiting for the socket in between. Completes through the
  // executor even when the first call is done (never inside the initiating call).
  template <bool WithBytes, class Step>
  struct op {
    tls_stream& s;
    Step step;
    bool waited = false;
    std::optional<tls_io> done;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (done) return finish(self, *done);
      if (ec) return finish(self, tls_io{tls_io::wait::none, 0, s.wait_error(ec)});
      if (s.expired_ && *s.expired_)
        return finish(self, tls_io{tls_io::wait::none, 0, boost::beast::error::timeout});
      if (!s.socket_.is_open() || !s.session_)
        return finish(self, tls_io{tls_io::wait::none, 0, boost::asio::error::bad_descriptor});
      tls_io r = step(*s.session_);
      if (r.need == tls_io::wait::none) {
        if (waited) return finish(self, r);
        done = r;
        boost::asio::post(s.socket_.get_executor(), std::move(self));
        return;
      }
      waited = true;
      s.socket_.async_wait(r.need == tls_io::wait::readable
                               ? boost::asio::ip::tcp::socket::wait_read
                               : boost::asio::ip::tcp::socket::wait_write,
                           std::move(self));
    }

    template <class Self>
    void finish(Self& self, const tls_io& r) {
      if constexpr (WithBytes)
        self.complete(r.ec, r.bytes);
      else
        self.complete(r.ec);
    }
  };

  template <bool WithBytes, class Step, class Token>
  auto async_run(Step step, Token&& token) {
    using signature = std::conditional_t<WithBytes, void(boost::system::error_code, std::size_t),
                                         void(boost::system::error_code)>;
    return boost::asio::async_compose<Token, signature>(
        op<WithBytes, Step>{*this, std::move(step), false, std::nullopt}, token, socket_);
  }
};

// Beast's customization points (found by argument-dependent lookup): closing the stream closes
// its socket; a WebSocket's teardown sends close_notify when it goes at once, then closes.
inline void beast_close_socket(tls_stream& s) {
  boost::system::error_code ignored;
  s.socket().close(ignored);
}

inline void teardown(boost::beast::role_type, tls_stream& s, boost::system::error_code& ec) {
  if (s.socket().is_open() && s.session()) s.session()->shutdown();
  s.socket().close(ec);
}

template <class Handler>
void async_teardown(boost::beast::role_type role, tls_stream& s, Handler&& handler) {
  boost::system::error_code ec;
  teardown(role, s, ec);
  boost::asio::post(s.get_executor(),
                    [h = std::forward<Handler>(handler), ec]() mutable { h(ec); });
}

}  // namespace hubcast::http::detail

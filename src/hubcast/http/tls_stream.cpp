#include <hubcast/http/tls_stream.hpp>

#include <vector>

namespace hubcast::http::detail {

tls_stream::tls_stream(boost::asio::ip::tcp::socket socket, ssl_ctx_st* ctx)
    : socket_(std::move(socket)),
      session_(std::make_unique<tls_session>(ctx, socket_.native_handle())) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
}

// The moved-from stream's timer is cancelled: its handler holds only the shared flag.
tls_stream::tls_stream(tls_stream&& other) noexcept
    : socket_(std::move(other.socket_)), session_(std::move(other.session_)) {
  bool was_expired = other.expired_ && *other.expired_;
  other.expires_never();
  if (was_expired) expired_ = std::make_shared<bool>(true);
}

tls_stream::~tls_stream() {
  expires_never();
}

void tls_stream::expires_after(std::chrono::steady_clock::duration d) {
  expires_never();
  expired_ = std::make_shared<bool>(false);
  if (!timer_) timer_ = std::make_unique<boost::asio::steady_timer>(socket_.get_executor());
  timer_->expires_after(d);
  // The socket is reached through the flag's owner only while the flag is current: a
  // cancelled wait (a new expiry, a move, the end) touches nothing.
  timer_->async_wait([flag = expired_, sock = &socket_](boost::system::error_code ec) {
    if (ec || flag.use_count() == 1) return;
    *flag = true;
    boost::system::error_code ignored;
    sock->cancel(ignored);
  });
}

void tls_stream::expires_never() {
  if (timer_) timer_->cancel();
  timer_.reset();
  expired_.reset();
}

std::pair<boost::asio::ip::tcp::socket, std::unique_ptr<tls_session>> tls_stream::release() {
  expires_never();
  return {std::move(socket_), std::move(session_)};
}

char* tls_stream::gather_buffer() {
  thread_local std::vector<char> buf(gather_limit);
  return buf.data();
}

}  // namespace hubcast::http::detail

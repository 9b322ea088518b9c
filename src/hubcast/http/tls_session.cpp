#include <hubcast/http/tls_session.hpp>

#include <cerrno>
#include <cstdint>
#include <stdexcept>

#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace hubcast::http::detail {

namespace {

// A BIO on the descriptor that writes with send(MSG_NOSIGNAL): a peer gone mid-write is an
// EPIPE error, never a SIGPIPE for the process (OpenSSL's socket BIO uses write(2)).
int fd_of(BIO* b) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b)));
}

int bio_write(BIO* b, const char* data, int n) {
  BIO_clear_retry_flags(b);
  for (;;) {
    ssize_t w = ::send(fd_of(b), data, static_cast<std::size_t>(n), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) return static_cast<int>(w);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    return -1;
  }
}

int bio_read(BIO* b, char* data, int n) {
  BIO_clear_retry_flags(b);
  for (;;) {
    ssize_t r = ::recv(fd_of(b), data, static_cast<std::size_t>(n), MSG_DONTWAIT);
    if (r >= 0) return static_cast<int>(r);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
    return -1;
  }
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hubcast socket");
    if (!m) return m;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

}  // namespace

tls_session::tls_session(ssl_ctx_st* ctx, int fd) : ssl_(SSL_new(ctx)) {
  if (!ssl_) throw std::bad_alloc();
  BIO_METHOD* method = socket_method();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  SSL_set_bio(ssl_, bio, bio);  // the session owns it
  SSL_set_accept_state(ssl_);
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

void tls_session::configure(ssl_ctx_st* ctx) {
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_clear_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
}

tls_io tls_session::result(int rc) {
  tls_io r;
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
      r.need = tls_io::wait::readable;
      return r;
    case SSL_ERROR_WANT_WRITE:
      r.need = tls_io::wait::writable;
      return r;
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or closed without it (IGNORE_UNEXPECTED_EOF)
      r.ec = boost::asio::error::eof;
      return r;
    case SSL_ERROR_SYSCALL:
      failed_ = true;
      if (auto e = ERR_get_error())
        r.ec =
            boost::system::error_code(static_cast<int>(e), boost::asio::error::get_ssl_category());
      else if (errno != 0)
        r.ec = boost::system::error_code(errno, boost::system::system_category());
      else
        r.ec = boost::asio::error::eof;
      return r;
    default: {
      failed_ = true;
      auto e = ERR_get_error();
      r.ec =
          e ? boost::system::error_code(static_cast<int>(e), boost::asio::error::get_ssl_category())
            : boost::system::error_code(boost::asio::error::connection_reset);
      return r;
    }
  }
}

// The thread's error queue may hold another connection's leftovers: cleared before each call,
// or SSL_get_error would report them as this call's. `op(bytes)` returns OpenSSL's result.
template <class Op>
tls_io tls_session::call(Op op) {
  if (failed_) return {tls_io::wait::none, 0, boost::asio::error::broken_pipe};
  ERR_clear_error();
  errno = 0;
  std::size_t bytes = 0;
  int rc = op(bytes);
  if (rc == 1) return {tls_io::wait::none, bytes, {}};
  return result(rc);
}

tls_io tls_session::handshake() {
  return call([this](std::size_t&) { return SSL_do_handshake(ssl_); });
}

tls_io tls_session::read(void* data, std::size_t n) {
  return call([&](std::size_t& got) { return SSL_read_ex(ssl_, data, n, &got); });
}

tls_io tls_session::write(const void* data, std::size_t n) {
  if (n == 0) return {};
  return call([&](std::size_t& put) { return SSL_write_ex(ssl_, data, n, &put); });
}

tls_io tls_session::shutdown() {
  if (failed_ || !SSL_is_init_finished(ssl_)) return {};
  ERR_clear_error();
  errno = 0;
  int rc = SSL_shutdown(ssl_);
  if (rc >= 0) return {};  // sent (0: the peer's not read, and not waited for)
  auto r = result(rc);
  if (r.need == tls_io::wait::readable) return {};
  return r;
}

}  // namespace hubcast::http::detail

// Internal to http/: one server-side TLS session on a non-blocking TCP descriptor. OpenSSL reads
// and writes the descriptor itself (a BIO on the descriptor): no memory BIO pair and no engine
// buffers beside OpenSSL's own record buffers, which the context releases while a connection is
// idle (SSL_MODE_RELEASE_BUFFERS). Every call returns at once: done, or what to wait for (the
// descriptor readable or writable), and the caller waits with the socket's reactor.
//
// A write that has to wait must be repeated with the same bytes first (more may follow them;
// they may be at another address): OpenSSL has already encrypted part of them.
// Writes use send(MSG_NOSIGNAL): a vanished peer never raises SIGPIPE.
#pragma once

#include <cstddef>
#include <memory>

#include <boost/system/error_code.hpp>

struct ssl_st;
struct ssl_ctx_st;

namespace hubcast::http::detail {

// What one non-blocking TLS call did.
struct tls_io {
  enum class wait { none, readable, writable };
  wait need = wait::none;        // not done: wait for this, then call again
  std::size_t bytes = 0;         // done: bytes read or written
  boost::system::error_code ec;  // done and failed (eof: the peer closed)
};

class tls_session {
 public:
  // A server session on `fd` (kept open by its owner: the session never closes it).
  tls_session(ssl_ctx_st* ctx, int fd);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  tls_io handshake();
  // At most `n` decrypted bytes (one record's worth at a time).
  tls_io read(void* data, std::size_t n);
  // All `n` bytes or nothing yet (wait, then repeat with the same bytes first).
  tls_io write(const void* data, std::size_t n);
  // Sends close_notify (does not wait for the peer's). After a failure: nothing to send.
  tls_io shutdown();

  // Prepares a context for sessions made by this class: release idle buffers, moving write
  // buffers, no renegotiation, a peer closing without close_notify is an end of stream.
  static void configure(ssl_ctx_st* ctx);

 private:
  ssl_st* ssl_;
  bool failed_ = false;  // a fatal error: OpenSSL forbids shutdown afterwards
  tls_io result(int rc);
  template <class Op>
  tls_io call(Op op);
};

}  // namespace hubcast::http::detail

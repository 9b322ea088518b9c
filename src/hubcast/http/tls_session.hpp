// Internal to http/: one server-side TLS session on a non-blocking TCP descriptor. OpenSSL reads
// and writes the descriptor itself (a BIO on the descriptor): no memory BIO pair and no engine
// buffers beside OpenSSL's own record buffers, which the context releases while a connection is
// idle (SSL_MODE_RELEASE_BUFFERS). Every call returns at once: done, or what to wait for (the
// descriptor readable or writable), and the caller waits with the socket's reactor.
//
// A write that has to wait must be repeated with the same bytes first (more may follow them;
// they may be at another address): they have already been encrypted.
// Writes use send(MSG_NOSIGNAL): a vanished peer never raises SIGPIPE.
//
// Once a TLS 1.3 handshake is done, the session hands the connection's records to hubcast's own
// record layer (tls_records.hpp) with the traffic secrets OpenSSL derived (its key log callback)
// and the records it has already sent (its message callback: the session tickets), and frees
// the SSL object: an idle connection keeps ~0.3 KiB of TLS state instead of ~10 KiB. Whatever
// cannot be handed over (TLS 1.2, a CCM suite, data OpenSSL already buffered) stays on OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/system/error_code.hpp>

struct ssl_st;
struct ssl_ctx_st;

namespace hubcast::http::detail {

class tls13_records;

// What one non-blocking TLS call did.
struct tls_io {
  enum class wait { none, readable, writable };
  wait need = wait::none;        // not done: wait for this, then call again
  std::size_t bytes = 0;         // done: bytes read or written
  boost::system::error_code ec;  // done and failed (eof: the peer closed)
};

class tls_session {
 public:
  // A server session on `fd` (kept open by its owner: the session never closes it). On its own
  // records it replaces its key after `rekey_after` records (tests make that small).
  tls_session(ssl_ctx_st* ctx, int fd, std::uint64_t rekey_after = std::uint64_t{1} << 23);
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
  // buffers, no renegotiation, a peer closing without close_notify is an end of stream, and
  // the callbacks that let a TLS 1.3 session leave OpenSSL after its handshake.
  static void configure(ssl_ctx_st* ctx);

  // After the handshake: whether hubcast's record layer carries the connection (no SSL object).
  bool on_own_records() const { return records_ != nullptr; }

  struct handshake_capture;  // what the callbacks collect during the handshake

 private:
  ssl_st* ssl_;
  int fd_;
  bool failed_ = false;       // a fatal error: OpenSSL forbids shutdown afterwards
  bool read_closed_ = false;  // own records: the peer's close_notify arrived
  bool close_sent_ = false;   // own records: ours is queued
  std::unique_ptr<handshake_capture> capture_;  // only until the handshake is done
  std::unique_ptr<tls13_records> records_;      // once OpenSSL has handed over
  std::string received_;                        // own records: an incomplete record
  std::string plaintext_;   // own records: decrypted data the caller had no room for
  std::string unsent_;      // own records: sealed bytes the socket did not take yet
  std::size_t repeat_ = 0;  // own records: the size of a write to be repeated (already sealed)
  std::uint64_t rekey_after_;

  tls_io result(int rc);
  template <class Op>
  tls_io call(Op op);
  void hand_over();  // after a successful handshake
  tls_io read_own(void* data, std::size_t n);
  tls_io write_own(const void* data, std::size_t n);
  tls_io shutdown_own();
  // Sends what is unsent: true when nothing is left (false and ec set: the session failed).
  bool flush(boost::system::error_code& ec);
  std::size_t send_some(const char* data, std::size_t n, boost::system::error_code& ec);
};

}  // namespace hubcast::http::detail

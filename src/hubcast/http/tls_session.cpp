#include <hubcast/http/tls_session.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <hubcast/http/tls_records.hpp>

namespace hubcast::http::detail {

// What OpenSSL's callbacks report during the handshake: the application traffic secrets, and
// how many records each side has protected with them (counted from each side's Finished).
struct tls_session::handshake_capture {
  std::array<unsigned char, 48> client_secret{};
  std::array<unsigned char, 48> server_secret{};
  std::size_t client_secret_size = 0;
  std::size_t server_secret_size = 0;
  bool client_finished = false;
  bool server_finished = false;
  std::uint64_t records_read = 0;     // after the client's Finished
  std::uint64_t records_written = 0;  // after ours (the session tickets)

  handshake_capture() = default;
  handshake_capture(const handshake_capture&) = delete;
  handshake_capture& operator=(const handshake_capture&) = delete;
  ~handshake_capture() {
    OPENSSL_cleanse(client_secret.data(), client_secret.size());
    OPENSSL_cleanse(server_secret.data(), server_secret.size());
  }
};

namespace {

using capture = tls_session::handshake_capture;

// The SSL object's slot for the capture (not the "app data" slot, which Asio's own streams use).
int capture_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<label> <client random> <secret>" in hex (NSS key log format). Only the two application
// traffic secrets are kept; nothing is logged.
void on_key_log(const SSL* ssl, const char* line) {
  auto* c = static_cast<capture*>(SSL_get_ex_data(ssl, capture_index()));
  if (!c || !line) return;
  std::string_view l(line);
  auto first = l.find(' ');
  auto last = l.rfind(' ');
  if (first == std::string_view::npos || last == first) return;
  auto label = l.substr(0, first);
  auto hex = l.substr(last + 1);
  std::array<unsigned char, 48>* into = nullptr;
  std::size_t* size = nullptr;
  if (label == "CLIENT_TRAFFIC_SECRET_0") {
    into = &c->client_secret;
    size = &c->client_secret_size;
  } else if (label == "SERVER_TRAFFIC_SECRET_0") {
    into = &c->server_secret;
    size = &c->server_secret_size;
  } else {
    return;
  }
  if (hex.size() % 2 != 0 || hex.size() / 2 > into->size()) return;
  for (std::size_t i = 0; i < hex.size() / 2; ++i) {
    int hi = hex_digit(hex[2 * i]);
    int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return;
    (*into)[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  *size = hex.size() / 2;
}

// Counts the records after each side's Finished: OpenSSL reports every record header it
// reads or writes, and each handshake message after its record.
void on_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL*,
                void* arg) {
  auto* c = static_cast<capture*>(arg);
  if (!c) return;
  if (content_type == SSL3_RT_HEADER) {
    if (write_p && c->server_finished) ++c->records_written;
    if (!write_p && c->client_finished) ++c->records_read;
  } else if (content_type == SSL3_RT_HANDSHAKE && len > 0 &&
             static_cast<const unsigned char*>(buf)[0] == SSL3_MT_FINISHED) {
    (write_p ? c->server_finished : c->client_finished) = true;
  }
}

// The thread's buffers for own records: filled and used within one call.
constexpr std::size_t receive_chunk = 64 * 1024;
char* thread_receive_buffer() {
  thread_local std::vector<char> buf(receive_chunk);
  return buf.data();
}
std::string& thread_string(int which) {
  thread_local std::string bufs[2];
  return bufs[which];
}
void trim(std::string& s) {
  if (s.capacity() > 1024 * 1024) std::string().swap(s);  // after an unusually large call
}

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

tls_session::tls_session(ssl_ctx_st* ctx, int fd, std::uint64_t rekey_after)
    : ssl_(SSL_new(ctx)),
      fd_(fd),
      capture_(std::make_unique<handshake_capture>()),
      rekey_after_(rekey_after) {
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
  SSL_set_ex_data(ssl_, capture_index(), capture_.get());
  SSL_set_msg_callback(ssl_, on_message);
  SSL_set_msg_callback_arg(ssl_, capture_.get());
}

tls_session::~tls_session() {
  if (ssl_) SSL_free(ssl_);
}

void tls_session::configure(ssl_ctx_st* ctx) {
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_clear_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_keylog_callback(ctx, on_key_log);
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
  if (!ssl_) return {};
  auto r = call([this](std::size_t&) { return SSL_do_handshake(ssl_); });
  if (r.need == tls_io::wait::none && !r.ec) hand_over();
  return r;
}

void tls_session::hand_over() {
  if (!capture_) return;
  const capture& c = *capture_;
  std::optional<tls13_suite> suite;
  if (SSL_version(ssl_) == TLS1_3_VERSION) {
    switch (SSL_CIPHER_get_id(SSL_get_current_cipher(ssl_)) & 0xffff) {
      case 0x1301:
        suite = tls13_suite::aes_128_gcm_sha256;
        break;
      case 0x1302:
        suite = tls13_suite::aes_256_gcm_sha384;
        break;
      case 0x1303:
        suite = tls13_suite::chacha20_poly1305_sha256;
        break;
      default:
        break;
    }
  }
  // OpenSSL must hold nothing of the connection's records: none read after the client's
  // Finished, nothing buffered, every record it wrote counted.
  if (suite && c.client_finished && c.server_finished && c.records_read == 0 &&
      !SSL_has_pending(ssl_) && c.client_secret_size > 0 && c.server_secret_size > 0)
    records_ = tls13_records::create(
        *suite, std::span(c.client_secret.data(), c.client_secret_size), 0,
        std::span(c.server_secret.data(), c.server_secret_size), c.records_written, rekey_after_);
  SSL_set_msg_callback(ssl_, nullptr);
  SSL_set_ex_data(ssl_, capture_index(), nullptr);
  capture_.reset();
  if (records_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  } else if (suite) {
    spdlog::debug("tls: a TLS 1.3 session stays on OpenSSL's record layer");
  }
}

tls_io tls_session::read(void* data, std::size_t n) {
  if (records_) return read_own(data, n);
  return call([&](std::size_t& got) { return SSL_read_ex(ssl_, data, n, &got); });
}

tls_io tls_session::write(const void* data, std::size_t n) {
  if (n == 0) return {};
  if (records_) return write_own(data, n);
  return call([&](std::size_t& put) { return SSL_write_ex(ssl_, data, n, &put); });
}

// Sends from `data` what the socket takes now; an error other than "would block" fails the
// session.
std::size_t tls_session::send_some(const char* data, std::size_t n, boost::system::error_code& ec) {
  std::size_t sent = 0;
  while (sent < n) {
    ssize_t w = ::send(fd_, data + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) {
      sent += static_cast<std::size_t>(w);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = boost::system::error_code(errno, boost::system::system_category());
      failed_ = true;
    }
    break;
  }
  return sent;
}

bool tls_session::flush(boost::system::error_code& ec) {
  std::size_t sent = send_some(unsent_.data(), unsent_.size(), ec);
  if (sent == unsent_.size()) {
    std::string().swap(unsent_);  // an idle connection keeps no buffer
    return !ec;
  }
  unsent_.erase(0, sent);
  return false;
}

tls_io tls_session::write_own(const void* data, std::size_t n) {
  if (failed_) return {tls_io::wait::none, 0, boost::asio::error::broken_pipe};
  boost::system::error_code ec;
  if (!unsent_.empty() && !flush(ec)) {
    if (ec) return {tls_io::wait::none, 0, ec};
    return {tls_io::wait::writable, 0, {}};
  }
  // A repeated write: its first `repeat_` bytes were sealed and have gone now.
  std::size_t done = std::min(std::exchange(repeat_, 0), n);
  if (done == n) return {tls_io::wait::none, n, {}};
  std::string& out = thread_string(0);
  out.clear();
  if (auto e =
          records_->seal(std::string_view(static_cast<const char*>(data) + done, n - done), out)) {
    failed_ = true;
    return {tls_io::wait::none, 0, e};
  }
  std::size_t sent = send_some(out.data(), out.size(), ec);
  if (!ec && sent < out.size()) unsent_.assign(out, sent);
  trim(out);
  if (ec) return {tls_io::wait::none, 0, ec};
  if (!unsent_.empty()) {
    repeat_ = n;  // the caller offers these bytes again once the socket is writable
    return {tls_io::wait::writable, 0, {}};
  }
  return {tls_io::wait::none, n, {}};
}

tls_io tls_session::read_own(void* data, std::size_t n) {
  auto take = [&](std::string& from, std::size_t offset) {
    std::size_t k = std::min(n, from.size() - offset);
    std::memcpy(data, from.data() + offset, k);
    return k;
  };
  if (!plaintext_.empty()) {
    std::size_t k = take(plaintext_, 0);
    plaintext_.erase(0, k);
    if (plaintext_.empty()) std::string().swap(plaintext_);
    return {tls_io::wait::none, k, {}};
  }
  if (failed_) return {tls_io::wait::none, 0, boost::asio::error::broken_pipe};
  if (read_closed_ || n == 0)
    return {tls_io::wait::none, 0,
            read_closed_ ? boost::asio::error::eof : boost::system::error_code{}};
  for (;;) {
    char* buf = thread_receive_buffer();
    ssize_t got = ::recv(fd_, buf, receive_chunk, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {tls_io::wait::readable, 0, {}};
      failed_ = true;
      return {tls_io::wait::none, 0,
              boost::system::error_code(errno, boost::system::system_category())};
    }
    if (got == 0) {  // closed without close_notify: an end of stream, as on OpenSSL
      read_closed_ = true;
      return {tls_io::wait::none, 0, boost::asio::error::eof};
    }
    std::string_view in(buf, static_cast<std::size_t>(got));
    if (!received_.empty()) {
      received_.append(in.data(), in.size());
      in = received_;
    }
    std::string& plain = thread_string(0);
    std::string& reply = thread_string(1);
    plain.clear();
    reply.clear();
    auto r = records_->open(in, plain, reply);
    if (in.data() == received_.data()) {
      received_.erase(0, r.consumed);
      if (received_.empty()) std::string().swap(received_);
    } else if (r.consumed < in.size() && !r.ec && !r.closed) {
      received_.assign(in.data() + r.consumed, in.size() - r.consumed);
    }
    if (!reply.empty()) {  // a fatal alert: sent if the socket takes it now
      unsent_ += reply;
      boost::system::error_code ignored;
      flush(ignored);
    }
    if (r.ec) {
      failed_ = true;
      spdlog::debug("tls: {}", r.ec.message());
      return {tls_io::wait::none, 0, r.ec};
    }
    if (r.closed) {
      read_closed_ = true;
      std::string().swap(received_);
    }
    if (!plain.empty()) {
      std::size_t k = take(plain, 0);
      if (k < plain.size()) plaintext_.assign(plain, k);
      trim(plain);
      return {tls_io::wait::none, k, {}};
    }
    if (read_closed_) return {tls_io::wait::none, 0, boost::asio::error::eof};
  }
}

tls_io tls_session::shutdown_own() {
  if (failed_) return {};
  boost::system::error_code ec;
  if (!close_sent_) {
    close_sent_ = true;
    std::string& out = thread_string(0);
    out.clear();
    if (records_->seal_close_notify(out)) return {};
    unsent_ += out;
  }
  if (flush(ec)) return {};
  if (ec) return {tls_io::wait::none, 0, ec};
  return {tls_io::wait::writable, 0, {}};
}

tls_io tls_session::shutdown() {
  if (records_) return shutdown_own();
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

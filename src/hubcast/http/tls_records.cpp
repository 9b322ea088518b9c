#include <hubcast/http/tls_records.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

namespace hubcast::http::detail {

namespace {

constexpr unsigned char type_alert = 21;
constexpr unsigned char type_handshake = 22;
constexpr unsigned char type_application_data = 23;
constexpr unsigned char handshake_key_update = 24;
constexpr unsigned char alert_close_notify = 0;
constexpr unsigned char alert_user_canceled = 90;

struct suite_info {
  const char* cipher;
  const char* digest;
  std::size_t key_size;
  std::size_t hash_size;
};

suite_info info(tls13_suite s) {
  switch (s) {
    case tls13_suite::aes_128_gcm_sha256:
      return {"AES-128-GCM", "SHA256", 16, 32};
    case tls13_suite::aes_256_gcm_sha384:
      return {"AES-256-GCM", "SHA384", 32, 48};
    case tls13_suite::chacha20_poly1305_sha256:
      break;
  }
  return {"ChaCha20-Poly1305", "SHA256", 32, 32};
}

// Fetched once: an implicit fetch per call is what makes OpenSSL 3's EVP slow.
EVP_CIPHER* cipher_of(tls13_suite s) {
  static EVP_CIPHER* const ciphers[3] = {
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr),
      EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr),
  };
  return ciphers[static_cast<int>(s)];
}

// The thread's cipher context, keyed by each call for one connection and one direction.
EVP_CIPHER_CTX* thread_cipher() {
  struct holder {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~holder() { EVP_CIPHER_CTX_free(ctx); }
  };
  thread_local holder h;
  return h.ctx;
}

// Where a record is decrypted before its content type is known.
unsigned char* thread_plaintext() {
  thread_local std::vector<unsigned char> buf(tls13_records::max_ciphertext);
  return buf.data();
}

// HKDF-Expand-Label(secret, label, "", out.size()) (RFC 8446 §7.1), HKDF from OpenSSL.
bool expand_label(const char* digest, std::span<const unsigned char> secret, std::string_view label,
                  std::span<unsigned char> out) {
  static EVP_KDF* const hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (!hkdf) return false;
  constexpr std::string_view prefix = "tls13 ";
  unsigned char hkdf_label[2 + 1 + 6 + 32 + 1];
  std::size_t n = 0;
  hkdf_label[n++] = static_cast<unsigned char>(out.size() >> 8);
  hkdf_label[n++] = static_cast<unsigned char>(out.size());
  hkdf_label[n++] = static_cast<unsigned char>(prefix.size() + label.size());
  std::memcpy(hkdf_label + n, prefix.data(), prefix.size());
  n += prefix.size();
  std::memcpy(hkdf_label + n, label.data(), label.size());
  n += label.size();
  hkdf_label[n++] = 0;  // an empty context
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(hkdf);
  if (!kctx) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<unsigned char*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, hkdf_label, n),
      OSSL_PARAM_construct_end(),
  };
  bool ok = EVP_KDF_derive(kctx, out.data(), out.size(), params) > 0;
  EVP_KDF_CTX_free(kctx);
  return ok;
}

// The per-record nonce: the IV xor the sequence number, big-endian in its last 8 bytes (§5.3).
void make_nonce(const std::array<unsigned char, 12>& iv, std::uint64_t sequence,
                unsigned char (&nonce)[12]) {
  std::memcpy(nonce, iv.data(), 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<unsigned char>(sequence >> (8 * i));
}

unsigned char alert_for(tls_record_error e) {
  switch (e) {
    case tls_record_error::bad_record_mac:
      return 20;
    case tls_record_error::record_overflow:
      return 22;
    case tls_record_error::unexpected_message:
      return 10;
    case tls_record_error::illegal_parameter:
      return 47;
    case tls_record_error::decode_error:
    case tls_record_error::internal_error:
      return 80;
    case tls_record_error::peer_alert:
    case tls_record_error::sequence_exhausted:
      break;
  }
  return 50;  // decode_error
}

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tls records"; }
  std::string message(int ev) const override {
    switch (static_cast<tls_record_error>(ev)) {
      case tls_record_error::bad_record_mac:
        return "a TLS record did not authenticate";
      case tls_record_error::record_overflow:
        return "a TLS record is longer than allowed";
      case tls_record_error::unexpected_message:
        return "an unexpected TLS record or handshake message";
      case tls_record_error::decode_error:
        return "a malformed TLS record, alert or handshake message";
      case tls_record_error::illegal_parameter:
        return "an illegal KeyUpdate";
      case tls_record_error::peer_alert:
        return "the peer sent a fatal TLS alert";
      case tls_record_error::sequence_exhausted:
        return "TLS record sequence numbers exhausted";
      case tls_record_error::internal_error:
        return "a TLS cipher call failed";
    }
    return "unknown TLS record error";
  }
};

}  // namespace

const boost::system::error_category& tls_record_category() {
  static const category c;
  return c;
}

boost::system::error_code make_error_code(tls_record_error e) {
  return {static_cast<int>(e), tls_record_category()};
}

std::unique_ptr<tls13_records> tls13_records::create(tls13_suite suite,
                                                     std::span<const unsigned char> read_secret,
                                                     std::uint64_t read_sequence,
                                                     std::span<const unsigned char> write_secret,
                                                     std::uint64_t write_sequence,
                                                     std::uint64_t rekey_after) {
  if (!cipher_of(suite) || !thread_cipher() || rekey_after == 0) return nullptr;
  std::unique_ptr<tls13_records> r(new tls13_records(suite, rekey_after));
  if (!r->install(r->read_, read_secret, read_sequence) ||
      !r->install(r->write_, write_secret, write_sequence))
    return nullptr;
  return r;
}

tls13_records::~tls13_records() {
  OPENSSL_cleanse(&read_, sizeof read_);
  OPENSSL_cleanse(&write_, sizeof write_);
}

bool tls13_records::install(direction& d, std::span<const unsigned char> secret,
                            std::uint64_t sequence) {
  const auto s = info(suite_);
  if (secret.size() != s.hash_size) return false;
  std::array<unsigned char, 48> copy{};
  std::copy(secret.begin(), secret.end(), copy.begin());  // `secret` may be d.secret
  std::span<const unsigned char> sec(copy.data(), s.hash_size);
  bool ok = expand_label(s.digest, sec, "key", std::span(d.key.data(), s.key_size)) &&
            expand_label(s.digest, sec, "iv", d.iv);
  if (ok) {
    d.secret = copy;
    d.sequence = sequence;
  }
  OPENSSL_cleanse(copy.data(), copy.size());
  return ok;
}

bool tls13_records::next_generation(direction& d) {
  const auto s = info(suite_);
  std::array<unsigned char, 48> next{};
  bool ok = expand_label(s.digest, std::span(d.secret.data(), s.hash_size), "traffic upd",
                         std::span(next.data(), s.hash_size)) &&
            install(d, std::span(next.data(), s.hash_size), 0);
  OPENSSL_cleanse(next.data(), next.size());
  return ok;
}

boost::system::error_code tls13_records::seal_record(unsigned char type, std::string_view body,
                                                     std::string& out) {
  bool keyed = false;
  return seal_one(type, body, out, keyed);
}

boost::system::error_code tls13_records::seal_one(unsigned char type, std::string_view body,
                                                  std::string& out, bool& keyed) {
  if (write_.sequence == std::numeric_limits<std::uint64_t>::max())
    return tls_record_error::sequence_exhausted;
  const std::size_t length = body.size() + 1 + tag_size;
  const unsigned char header[header_size] = {type_application_data, 3, 3,
                                             static_cast<unsigned char>(length >> 8),
                                             static_cast<unsigned char>(length)};
  unsigned char nonce[12];
  make_nonce(write_.iv, write_.sequence, nonce);
  EVP_CIPHER_CTX* ctx = thread_cipher();
  const std::size_t at = out.size();
  out.resize(at + header_size + length);
  auto* p = reinterpret_cast<unsigned char*>(out.data() + at);
  std::memcpy(p, header, header_size);
  p += header_size;
  int n = 0;
  int done = 0;
  bool ok = (keyed ? EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, 1, nullptr)
                   : EVP_CipherInit_ex2(ctx, cipher_of(suite_), write_.key.data(), nonce, 1,
                                        nullptr)) > 0 &&
            EVP_CipherUpdate(ctx, nullptr, &n, header, header_size) > 0 &&
            EVP_CipherUpdate(ctx, p, &n, reinterpret_cast<const unsigned char*>(body.data()),
                             static_cast<int>(body.size())) > 0;
  done = n;
  ok = ok && EVP_CipherUpdate(ctx, p + done, &n, &type, 1) > 0;
  done += n;
  ok = ok && EVP_CipherFinal_ex(ctx, p + done, &n) > 0;
  done += n;
  ok = ok && static_cast<std::size_t>(done) == body.size() + 1 &&
       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, tag_size, p + done) > 0;
  if (!ok) {
    out.resize(at);
    keyed = false;
    return tls_record_error::internal_error;
  }
  keyed = true;
  ++write_.sequence;
  return {};
}

// Ours is always update_not_requested: we never ask the client to change its key.
boost::system::error_code tls13_records::send_key_update(std::string& out, bool& keyed) {
  const char body[5] = {static_cast<char>(handshake_key_update), 0, 0, 1, 0};
  if (auto ec = seal_one(type_handshake, std::string_view(body, sizeof body), out, keyed))
    return ec;
  keyed = false;
  if (!next_generation(write_)) return tls_record_error::internal_error;
  return {};
}

boost::system::error_code tls13_records::seal(std::string_view data, std::string& out) {
  out.reserve(out.size() + data.size() + (data.size() / max_plaintext + 2) * 32);
  std::size_t pos = 0;
  bool keyed = false;  // the key is set once per call, then only each record's nonce
  do {
    if (update_owed_ || write_.sequence >= rekey_after_) {
      update_owed_ = false;
      if (auto ec = send_key_update(out, keyed)) return ec;
    }
    const std::size_t n = std::min(max_plaintext, data.size() - pos);
    if (auto ec = seal_one(type_application_data, data.substr(pos, n), out, keyed)) return ec;
    pos += n;
  } while (pos < data.size());
  return {};
}

boost::system::error_code tls13_records::seal_close_notify(std::string& out) {
  const char body[2] = {1, static_cast<char>(alert_close_notify)};  // warning, close_notify
  return seal_record(type_alert, std::string_view(body, sizeof body), out);
}

boost::system::error_code tls13_records::fail(tls_record_error e, std::string& reply) {
  const char body[2] = {2, static_cast<char>(alert_for(e))};  // fatal
  (void)seal_record(type_alert, std::string_view(body, sizeof body), reply);
  return e;
}

boost::system::error_code tls13_records::on_handshake(std::span<const unsigned char> body,
                                                      std::string& reply) {
  // Only KeyUpdate may follow the handshake from a client (no post-handshake authentication
  // is requested), whole within its record and last in it: the key changes after it (§5.1).
  if (body.size() != 5 || body[0] != handshake_key_update || body[1] != 0 || body[2] != 0 ||
      body[3] != 1)
    return fail(body.size() >= 1 && body[0] != handshake_key_update
                    ? tls_record_error::unexpected_message
                    : tls_record_error::decode_error,
                reply);
  if (body[4] > 1) return fail(tls_record_error::illegal_parameter, reply);
  if (!next_generation(read_)) return fail(tls_record_error::internal_error, reply);
  if (body[4] == 1) update_owed_ = true;  // ours goes before our next data record (§4.6.3)
  return {};
}

tls13_records::opened tls13_records::open(std::string_view in, std::string& data,
                                          std::string& reply) {
  opened r;
  const auto* bytes = reinterpret_cast<const unsigned char*>(in.data());
  bool keyed = false;  // the read key is set once per call (again after a KeyUpdate)
  while (in.size() - r.consumed >= header_size) {
    const unsigned char* h = bytes + r.consumed;
    const std::size_t length = std::size_t{h[3]} << 8 | h[4];
    // After the handshake every record is protected: a change_cipher_spec, a plaintext alert
    // or handshake record is unexpected.
    if (h[0] != type_application_data) {
      r.ec = fail(tls_record_error::unexpected_message, reply);
      return r;
    }
    if (h[1] != 3 || h[2] != 3) {
      r.ec = fail(tls_record_error::decode_error, reply);
      return r;
    }
    if (length > max_ciphertext) {
      r.ec = fail(tls_record_error::record_overflow, reply);
      return r;
    }
    if (length < tag_size + 1) {
      r.ec = fail(tls_record_error::decode_error, reply);
      return r;
    }
    if (in.size() - r.consumed < header_size + length) break;  // the rest is still coming
    if (read_.sequence == std::numeric_limits<std::uint64_t>::max()) {
      r.ec = fail(tls_record_error::sequence_exhausted, reply);
      return r;
    }
    unsigned char nonce[12];
    make_nonce(read_.iv, read_.sequence, nonce);
    EVP_CIPHER_CTX* ctx = thread_cipher();
    unsigned char* plain = thread_plaintext();
    const int body = static_cast<int>(length - tag_size);
    int n = 0;
    int done = 0;
    bool ok = (keyed ? EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce, 0, nullptr)
                     : EVP_CipherInit_ex2(ctx, cipher_of(suite_), read_.key.data(), nonce, 0,
                                          nullptr)) > 0 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, tag_size,
                                  const_cast<unsigned char*>(h + header_size + body)) > 0 &&
              EVP_CipherUpdate(ctx, nullptr, &n, h, header_size) > 0 &&
              EVP_CipherUpdate(ctx, plain, &n, h + header_size, body) > 0;
    done = n;
    ok = ok && EVP_CipherFinal_ex(ctx, plain + done, &n) > 0;
    if (!ok) {
      r.ec = fail(tls_record_error::bad_record_mac, reply);
      return r;
    }
    keyed = true;
    ++read_.sequence;
    r.consumed += header_size + length;
    // The inner plaintext: content, its type (non-zero), then zero padding (§5.4).
    std::size_t end = static_cast<std::size_t>(body);
    while (end > 0 && plain[end - 1] == 0) --end;
    if (end == 0) {
      r.ec = fail(tls_record_error::unexpected_message, reply);
      return r;
    }
    const unsigned char type = plain[end - 1];
    const std::span<const unsigned char> content(plain, end - 1);
    if (content.size() > max_plaintext) {
      r.ec = fail(tls_record_error::record_overflow, reply);
      return r;
    }
    const bool carries_data = type == type_application_data && !content.empty();
    const bool closes =
        type == type_alert && content.size() == 2 && content[1] == alert_close_notify;
    empty_run_ = carries_data ? 0 : empty_run_ + 1;
    if (empty_run_ > max_empty_run && !closes) {
      r.ec = fail(tls_record_error::unexpected_message, reply);
      return r;
    }
    if (type == type_application_data) {
      data.append(reinterpret_cast<const char*>(content.data()), content.size());
    } else if (type == type_alert) {
      if (content.size() != 2) {
        r.ec = fail(tls_record_error::decode_error, reply);
        return r;
      }
      if (content[1] == alert_close_notify) {
        r.closed = true;
        return r;
      }
      if (content[1] != alert_user_canceled) {  // every other alert is fatal in TLS 1.3
        r.ec = tls_record_error::peer_alert;
        return r;
      }
    } else if (type == type_handshake) {
      keyed = false;  // a KeyUpdate changed the read key
      if (auto ec = on_handshake(content, reply)) {
        r.ec = ec;
        return r;
      }
    } else {
      r.ec = fail(tls_record_error::unexpected_message, reply);
      return r;
    }
  }
  return r;
}

}  // namespace hubcast::http::detail

// Internal to http/: the TLS 1.3 record layer of an established connection (RFC 8446 §5), as
// kernel TLS takes it over from a user-space handshake. OpenSSL does the handshake; then this
// class protects and opens the application's records with the traffic secrets it derived, and
// OpenSSL's per-connection state (the SSL object, ~10 KiB with its cipher contexts) is freed.
// What a connection keeps is ~250 bytes: a secret, key and nonce per direction and two sequence
// numbers. The cipher contexts belong to the thread and are keyed for each call.
//
// Pure computation (no socket): bytes in, bytes out, so that it is unit-tested against OpenSSL
// and fuzzed. Every byte from the peer is checked: the record header (type, version, length
// ≤ 2^14 + 256), authentication before anything is looked at, the inner content type, an
// alert's shape, the one post-handshake message a client may send (KeyUpdate), and the
// sequence numbers' end. Any violation is fatal, with the alert RFC 8446 §6.2 names.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace hubcast::http::detail {

// The three TLS 1.3 suites OpenSSL offers by default (TLS_AES_128_CCM_* stay on OpenSSL).
enum class tls13_suite : std::uint8_t {
  aes_128_gcm_sha256,
  aes_256_gcm_sha384,
  chacha20_poly1305_sha256
};

// Errors of the record layer (category "tls records"); each also names the alert sent.
enum class tls_record_error {
  bad_record_mac = 1,  // a record that does not authenticate
  record_overflow,     // longer than RFC 8446 allows
  unexpected_message,  // a content type or handshake message not allowed now
  decode_error,        // a malformed header, alert or handshake message
  illegal_parameter,   // a KeyUpdate that is neither "requested" nor "not requested"
  peer_alert,          // the peer sent a fatal alert
  sequence_exhausted,  // 2^64 records in one direction
  internal_error,      // a cipher call failed (not the peer's doing)
};
const boost::system::error_category& tls_record_category();
boost::system::error_code make_error_code(tls_record_error e);

class tls13_records {
 public:
  static constexpr std::size_t header_size = 5;
  static constexpr std::size_t tag_size = 16;
  static constexpr std::size_t max_plaintext = 16384;                      // 2^14
  static constexpr std::size_t max_ciphertext = max_plaintext + 256;       // §5.2
  static constexpr std::size_t max_record = header_size + max_ciphertext;  // from a peer
  // Records we send under one key before replacing it with a KeyUpdate: well below AES-GCM's
  // 2^24.5 full-size records (RFC 8446 §5.5).
  static constexpr std::uint64_t default_rekey_after = std::uint64_t{1} << 23;
  static constexpr unsigned max_empty_run = 32;

  // The traffic secrets after the handshake (read: the client's, write: ours) and the number
  // of records each has already protected. nullptr when the keys cannot be derived.
  static std::unique_ptr<tls13_records> create(tls13_suite suite,
                                               std::span<const unsigned char> read_secret,
                                               std::uint64_t read_sequence,
                                               std::span<const unsigned char> write_secret,
                                               std::uint64_t write_sequence,
                                               std::uint64_t rekey_after = default_rekey_after);
  ~tls13_records();
  tls13_records(const tls13_records&) = delete;
  tls13_records& operator=(const tls13_records&) = delete;

  struct opened {
    std::size_t consumed = 0;      // bytes of `in` used: complete records only
    bool closed = false;           // a close_notify arrived: nothing after it is read
    boost::system::error_code ec;  // fatal: the alert for the peer is in `reply`
  };
  // Opens the complete records at the front of `in`; application data is appended to `data`,
  // records owed to the peer (a KeyUpdate it asked for, a fatal alert) to `reply`. Stops
  // before an incomplete record, after a close_notify, or at the first error.
  opened open(std::string_view in, std::string& data, std::string& reply);

  // Protects `data` as application-data records of up to 16 KiB appended to `out` (a KeyUpdate
  // first when one is due). Fails only when the sequence numbers are exhausted.
  boost::system::error_code seal(std::string_view data, std::string& out);
  // The close_notify alert.
  boost::system::error_code seal_close_notify(std::string& out);
  // One record of any content type carrying `body` (≤ 2^14 bytes) as it is: how the peer's
  // side of a test or a fuzz target writes what a server never sends.
  boost::system::error_code seal_record(unsigned char type, std::string_view body,
                                        std::string& out);

  tls13_suite suite() const { return suite_; }
  std::uint64_t read_sequence() const { return read_.sequence; }
  std::uint64_t write_sequence() const { return write_.sequence; }

 private:
  struct direction {
    std::array<unsigned char, 48> secret{};
    std::array<unsigned char, 32> key{};
    std::array<unsigned char, 12> iv{};
    std::uint64_t sequence = 0;
  };
  tls13_suite suite_;
  bool update_owed_ = false;  // the peer asked for our KeyUpdate: sent before the next record
  // Records in a row that carried no application data (empty ones, KeyUpdates, user_canceled):
  // more than max_empty_run is a peer keeping us busy for nothing, fatal as in OpenSSL.
  unsigned empty_run_ = 0;
  std::uint64_t rekey_after_;
  direction read_;
  direction write_;

  tls13_records(tls13_suite suite, std::uint64_t rekey_after)
      : suite_(suite), rekey_after_(rekey_after) {}
  bool install(direction& d, std::span<const unsigned char> secret, std::uint64_t sequence);
  bool next_generation(direction& d);  // "traffic upd" (RFC 8446 §7.2)
  // `keyed`: the thread's cipher context already holds this direction's key in this call (only
  // the nonce changes per record); cleared when the key changes.
  boost::system::error_code seal_one(unsigned char type, std::string_view body, std::string& out,
                                     bool& keyed);
  boost::system::error_code send_key_update(std::string& out, bool& keyed);
  boost::system::error_code fail(tls_record_error e, std::string& reply);
  // A decrypted post-handshake message record (handshake content type).
  boost::system::error_code on_handshake(std::span<const unsigned char> body, std::string& reply);
};

}  // namespace hubcast::http::detail

template <>
struct boost::system::is_error_code_enum<hubcast::http::detail::tls_record_error> : std::true_type {
};

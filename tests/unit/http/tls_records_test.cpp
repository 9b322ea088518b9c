// The TLS 1.3 record layer against itself as the peer (the client's side has the secrets
// swapped): round trips, key updates, and every check a hostile peer's records meet.
#include <hubcast/http/tls_records.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace hubcast::http::detail {
namespace {

constexpr unsigned char alert = 21;
constexpr unsigned char handshake = 22;
constexpr unsigned char app_data = 23;

struct pair_of {
  std::unique_ptr<tls13_records> server;  // reads the client's secret, writes its own
  std::unique_ptr<tls13_records> client;
};

pair_of make_pair(tls13_suite suite = tls13_suite::aes_128_gcm_sha256,
                  std::uint64_t server_rekey = tls13_records::default_rekey_after,
                  std::uint64_t client_rekey = tls13_records::default_rekey_after) {
  std::size_t size = suite == tls13_suite::aes_256_gcm_sha384 ? 48 : 32;
  std::array<unsigned char, 48> client_secret{};
  std::array<unsigned char, 48> server_secret{};
  for (std::size_t i = 0; i < size; ++i) {
    client_secret[i] = static_cast<unsigned char>(i + 1);
    server_secret[i] = static_cast<unsigned char>(0xA0 ^ i);
  }
  std::span<const unsigned char> c(client_secret.data(), size);
  std::span<const unsigned char> s(server_secret.data(), size);
  return {tls13_records::create(suite, c, 0, s, 2, server_rekey),
          tls13_records::create(suite, s, 2, c, 0, client_rekey)};
}

// Everything `to` opens of `wire`, which must be whole records.
std::string open_all(tls13_records& to, const std::string& wire) {
  std::string data;
  std::string reply;
  auto r = to.open(wire, data, reply);
  EXPECT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_TRUE(reply.empty());
  return data;
}

std::string text(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(TlsRecords, RoundTripsEverySizeInEverySuite) {
  for (auto suite : {tls13_suite::aes_128_gcm_sha256, tls13_suite::aes_256_gcm_sha384,
                     tls13_suite::chacha20_poly1305_sha256}) {
    auto p = make_pair(suite);
    ASSERT_TRUE(p.server && p.client);
    for (std::size_t n : {0u, 1u, 16383u, 16384u, 16385u, 100000u}) {
      std::string wire;
      ASSERT_FALSE(p.server->seal(text(n), wire));
      // 16 KiB of data per record at most, each with 22 bytes of header, type and tag.
      std::size_t records = n == 0 ? 1 : (n + 16383) / 16384;
      EXPECT_EQ(wire.size(), n + records * 22) << n;
      EXPECT_EQ(open_all(*p.client, wire), text(n));
      wire.clear();
      ASSERT_FALSE(p.client->seal(text(n), wire));
      EXPECT_EQ(open_all(*p.server, wire), text(n));
    }
  }
}

TEST(TlsRecords, StartsFromTheSequenceNumbersItIsGiven) {
  auto p = make_pair();
  EXPECT_EQ(p.server->write_sequence(), 2u);  // two session tickets went before
  std::string wire;
  ASSERT_FALSE(p.server->seal("x", wire));
  EXPECT_EQ(p.server->write_sequence(), 3u);
  EXPECT_EQ(open_all(*p.client, wire), "x");
  EXPECT_EQ(p.client->read_sequence(), 3u);
}

TEST(TlsRecords, StopsBeforeAnIncompleteRecordAndGoesOnWithTheRest) {
  auto p = make_pair();
  std::string wire;
  ASSERT_FALSE(p.client->seal("first", wire));
  ASSERT_FALSE(p.client->seal("second", wire));
  for (std::size_t cut = 0; cut < wire.size(); ++cut) {
    auto q = make_pair();
    std::string w;
    ASSERT_FALSE(q.client->seal("first", w));
    ASSERT_FALSE(q.client->seal("second", w));
    std::string data;
    std::string reply;
    auto r = q.server->open(std::string_view(w).substr(0, cut), data, reply);
    ASSERT_FALSE(r.ec);
    EXPECT_LE(r.consumed, cut);
    auto rest = q.server->open(std::string_view(w).substr(r.consumed), data, reply);
    ASSERT_FALSE(rest.ec);
    EXPECT_EQ(data, "firstsecond") << cut;
  }
}

TEST(TlsRecords, ATamperedRecordIsABadRecordMacWithItsAlert) {
  auto p = make_pair();
  std::string wire;
  ASSERT_FALSE(p.client->seal("secret data", wire));
  wire[8] ^= 1;
  std::string data;
  std::string reply;
  auto r = p.server->open(wire, data, reply);
  EXPECT_EQ(r.ec, tls_record_error::bad_record_mac);
  EXPECT_TRUE(data.empty());
  // The fatal alert, protected: the client reads alert 20 (bad_record_mac).
  std::string got;
  std::string ignored;
  auto a = p.client->open(reply, got, ignored);
  EXPECT_EQ(a.ec, tls_record_error::peer_alert);
}

TEST(TlsRecords, RefusesWhatMayNotFollowTheHandshake) {
  struct bad {
    std::string wire;
    tls_record_error error;
  };
  std::string big(5 + 16384 + 257, '\0');
  big[0] = 23, big[1] = 3, big[2] = 3, big[3] = static_cast<char>((16384 + 257) >> 8),
  big[4] = static_cast<char>((16384 + 257) & 0xff);
  for (const auto& b : {
           bad{std::string("\x14\x03\x03\x00\x01\x01", 6), tls_record_error::unexpected_message},
           bad{std::string("\x16\x03\x03\x00\x04\x18\x00\x00\x01", 9),
               tls_record_error::unexpected_message},
           bad{std::string("\x15\x03\x03\x00\x02\x01\x00", 7),
               tls_record_error::unexpected_message},
           bad{std::string("\x17\x03\x01\x00\x20", 5), tls_record_error::decode_error},
           bad{std::string("\x17\x03\x03\x00\x10", 5), tls_record_error::decode_error},
           bad{big, tls_record_error::record_overflow},
       }) {
    auto p = make_pair();
    std::string data;
    std::string reply;
    auto r = p.server->open(b.wire, data, reply);
    EXPECT_EQ(r.ec, b.error) << r.ec.message();
    EXPECT_FALSE(reply.empty());
  }
}

// A record with any inner content, sealed by the client.
tls13_records::opened send_raw(pair_of& p, unsigned char type, const std::string& body,
                               std::string& data, std::string& reply) {
  std::string wire;
  EXPECT_FALSE(p.client->seal_record(type, body, wire));
  return p.server->open(wire, data, reply);
}

TEST(TlsRecords, ChecksTheInnerContent) {
  struct bad {
    unsigned char type;
    std::string body;
    tls_record_error error;
  };
  for (const auto& b : {
           bad{0, "", tls_record_error::unexpected_message},  // all padding: no content type
           bad{24, "x", tls_record_error::unexpected_message},
           bad{20, "\x01", tls_record_error::unexpected_message},
           bad{alert, "\x02", tls_record_error::decode_error},
           bad{alert, std::string("\x02\x28", 2), tls_record_error::peer_alert},
           bad{handshake, std::string("\x04\x00\x00\x01\x00", 5),
               tls_record_error::unexpected_message},  // a NewSessionTicket from a client
           bad{handshake, std::string("\x18\x00\x00\x02\x00\x00", 6),
               tls_record_error::decode_error},
           bad{handshake, std::string("\x18\x00\x00\x01\x02", 5),
               tls_record_error::illegal_parameter},
           bad{handshake, std::string("\x18\x00\x00\x01\x00\x18\x00\x00\x01\x00", 10),
               tls_record_error::decode_error},  // a KeyUpdate not last in its record
       }) {
    auto p = make_pair();
    std::string data;
    std::string reply;
    auto r = send_raw(p, b.type, b.body, data, reply);
    EXPECT_EQ(r.ec, b.error) << int(b.type) << " " << r.ec.message();
  }
}

TEST(TlsRecords, PaddingAndEmptyDataRecordsAreAllowed) {
  auto p = make_pair();
  std::string data;
  std::string reply;
  EXPECT_FALSE(send_raw(p, app_data, "", data, reply).ec);  // zero-length application data
  EXPECT_TRUE(data.empty());
  // seal_record puts its type byte last: a zero there, after content, type and zeros, makes
  // a padded record (RFC 8446 §5.4).
  std::string padded = std::string("hi") + char(app_data) + std::string(100, '\0');
  EXPECT_FALSE(send_raw(p, 0, padded, data, reply).ec);
  EXPECT_EQ(data, "hi");
  EXPECT_EQ(send_raw(p, 0, std::string(50, '\0'), data, reply).ec,
            tls_record_error::unexpected_message);  // padding all the way: no type
}

TEST(TlsRecords, ManyRecordsInARowWithoutDataAreRefused) {
  // As OpenSSL does: 32 records in a row without application data (empty ones, user_canceled
  // alerts, KeyUpdates) are allowed, the next is not, unless data came between.
  for (int kind = 0; kind < 3; ++kind) {
    // kind 2: a client that replaces its key before every record, so that each seal of
    // nothing is a KeyUpdate and an empty record (two of the run).
    auto p = make_pair(tls13_suite::aes_128_gcm_sha256, tls13_records::default_rekey_after,
                       kind == 2 ? 1 : tls13_records::default_rekey_after);
    std::string data;
    std::string reply;
    auto nothing = [&] {
      if (kind == 0) return send_raw(p, app_data, "", data, reply);
      if (kind == 1) return send_raw(p, alert, std::string("\x01\x5a", 2), data, reply);
      std::string wire;
      EXPECT_FALSE(p.client->seal("", wire));
      return p.server->open(wire, data, reply);
    };
    const int allowed = kind == 2 ? 16 : 32;
    for (int i = 0; i < allowed; ++i) ASSERT_FALSE(nothing().ec) << kind << " " << i;
    std::string wire;
    ASSERT_FALSE(p.client->seal("x", wire));
    ASSERT_FALSE(p.server->open(wire, data, reply).ec);  // data ends the run
    for (int i = 0; i < allowed; ++i) ASSERT_FALSE(nothing().ec) << kind << " " << i;
    EXPECT_EQ(nothing().ec, tls_record_error::unexpected_message) << kind;
    EXPECT_EQ(data, "x");
  }
}

TEST(TlsRecords, CloseNotifyEndsReadingAndUserCanceledIsIgnored) {
  auto p = make_pair();
  std::string wire;
  ASSERT_FALSE(p.client->seal("before", wire));
  ASSERT_FALSE(p.client->seal_record(alert, std::string("\x01\x5a", 2), wire));  // user_canceled
  ASSERT_FALSE(p.client->seal_close_notify(wire));
  const std::size_t through_close = wire.size();
  ASSERT_FALSE(p.client->seal("after", wire));
  std::string data;
  std::string reply;
  auto r = p.server->open(wire, data, reply);
  EXPECT_FALSE(r.ec);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.consumed, through_close);
  EXPECT_EQ(data, "before");
}

TEST(TlsRecords, FollowsTheClientsKeyUpdateAndAnswersARequestBeforeItsNextRecord) {
  auto p = make_pair();
  std::string data;
  std::string reply;
  // The client sends KeyUpdate(update_requested), then changes its own key.
  std::string wire;
  ASSERT_FALSE(p.client->seal_record(handshake, std::string("\x18\x00\x00\x01\x01", 5), wire));
  auto r = p.server->open(wire, data, reply);
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(p.server->read_sequence(), 0u);  // a new key, counted from zero
  EXPECT_TRUE(reply.empty());                // ours goes before our next data record
  // The server's next data: its KeyUpdate, then data under its next key. The client, which
  // has not changed its own read key yet, reads both (the KeyUpdate moves its read key on).
  wire.clear();
  ASSERT_FALSE(p.server->seal("answer", wire));
  EXPECT_EQ(p.server->write_sequence(), 1u);
  EXPECT_EQ(open_all(*p.client, wire), "answer");
  // A record under the client's old key no longer authenticates.
  auto q = make_pair();
  wire.clear();
  ASSERT_FALSE(q.client->seal("old key", wire));
  // (The server of `p` moved on: records from a fresh client at sequence 0 fail.)
  r = p.server->open(wire, data, reply);
  EXPECT_EQ(r.ec, tls_record_error::bad_record_mac);
}

TEST(TlsRecords, ReplacesItsKeyAfterTheConfiguredNumberOfRecords) {
  auto p = make_pair(tls13_suite::chacha20_poly1305_sha256, 5);
  std::string all;
  for (int i = 0; i < 40; ++i) {
    std::string wire;
    ASSERT_FALSE(p.server->seal("tick " + std::to_string(i) + ";", wire));
    all += open_all(*p.client, wire);
    EXPECT_LE(p.server->write_sequence(), 5u);
  }
  std::string expected;
  for (int i = 0; i < 40; ++i) expected += "tick " + std::to_string(i) + ";";
  EXPECT_EQ(all, expected);
}

TEST(TlsRecords, RefusesToRunPastTheLastSequenceNumber) {
  std::array<unsigned char, 32> secret{};
  auto r = tls13_records::create(tls13_suite::aes_128_gcm_sha256, secret, UINT64_MAX, secret,
                                 UINT64_MAX, UINT64_MAX);
  ASSERT_TRUE(r);
  std::string wire;
  EXPECT_EQ(r->seal("x", wire), tls_record_error::sequence_exhausted);
  std::string data;
  std::string reply;
  std::string record("\x17\x03\x03\x00\x11", 5);
  record += std::string(17, '\0');
  EXPECT_EQ(r->open(record, data, reply).ec, tls_record_error::sequence_exhausted);
}

TEST(TlsRecords, RefusesASecretOfTheWrongSize) {
  std::array<unsigned char, 32> secret{};
  EXPECT_FALSE(tls13_records::create(tls13_suite::aes_256_gcm_sha384, secret, 0, secret, 0));
  EXPECT_TRUE(tls13_records::create(tls13_suite::aes_128_gcm_sha256, secret, 0, secret, 0));
}

}  // namespace
}  // namespace hubcast::http::detail

// tls_session against a real OpenSSL client over a socket pair: the TLS 1.3 handshake on
// OpenSSL, then hubcast's own records (every suite, resumption, key updates both ways, a
// repeated write, close_notify, tampering); TLS 1.2 stays on OpenSSL.
#include <hubcast/http/tls_records.hpp>
#include <hubcast/http/tls_session.hpp>

#include <csignal>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/error.hpp>

namespace hubcast::http::detail {
namespace {

// A self-signed P-256 certificate in a server context configured as hubcast's.
SSL_CTX* server_context() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_server_method());
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(c, cert);
    SSL_CTX_use_PrivateKey(c, key);
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    tls_session::configure(c);
    X509_free(cert);
    EVP_PKEY_free(key);
    return c;
  }();
  return ctx;
}

struct connection {
  int server_fd = -1;
  int client_fd = -1;
  SSL_CTX* client_ctx = nullptr;
  SSL* client = nullptr;
  std::unique_ptr<tls_session> server;
  int key_updates_received = 0;  // by the client

  explicit connection(std::function<void(SSL_CTX*, SSL*)> setup = {},
                      std::uint64_t rekey_after = tls13_records::default_rekey_after) {
    std::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    server_fd = fds[0];
    client_fd = fds[1];
    ::fcntl(server_fd, F_SETFL, O_NONBLOCK);
    ::fcntl(client_fd, F_SETFL, O_NONBLOCK);
    server = std::make_unique<tls_session>(server_context(), server_fd, rekey_after);
    client_ctx = SSL_CTX_new(TLS_client_method());
    client = SSL_new(client_ctx);
    SSL_set_fd(client, client_fd);
    SSL_set_connect_state(client);
    SSL_set_msg_callback(
        client, [](int write_p, int, int type, const void* buf, std::size_t len, SSL*, void* arg) {
          if (!write_p && type == SSL3_RT_HANDSHAKE && len > 0 &&
              static_cast<const unsigned char*>(buf)[0] == SSL3_MT_KEY_UPDATE)
            ++*static_cast<int*>(arg);
        });
    SSL_set_msg_callback_arg(client, &key_updates_received);
    if (setup) setup(client_ctx, client);
  }
  ~connection() {
    server.reset();
    SSL_free(client);
    SSL_CTX_free(client_ctx);
    ::close(server_fd);
    ::close(client_fd);
  }

  bool handshake() {
    bool client_done = false;
    bool server_done = false;
    for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
      if (!client_done) {
        int rc = SSL_do_handshake(client);
        if (rc == 1)
          client_done = true;
        else if (int e = SSL_get_error(client, rc);
                 e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
          return false;
      }
      if (!server_done) {
        auto r = server->handshake();
        if (r.ec) return false;
        server_done = r.need == tls_io::wait::none;
      }
    }
    return client_done && server_done;
  }

  // What the client can read now.
  std::string client_reads() {
    std::string out;
    char buf[4096];
    for (;;) {
      std::size_t got = 0;
      if (SSL_read_ex(client, buf, sizeof buf, &got) != 1) break;
      out.append(buf, got);
    }
    return out;
  }

  // Reads at most `chunk` at a time until the server has nothing more now.
  std::string server_reads(std::size_t chunk = 65536) {
    std::string out;
    std::string buf(chunk, '\0');
    for (;;) {
      auto r = server->read(buf.data(), buf.size());
      if (r.need != tls_io::wait::none || r.ec) break;
      out.append(buf.data(), r.bytes);
    }
    return out;
  }

  bool client_writes(const std::string& s) {
    std::size_t put = 0;
    return SSL_write_ex(client, s.data(), s.size(), &put) == 1 && put == s.size();
  }
};

std::string text(std::size_t n, char seed = 'a') {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 26);
  return s;
}

TEST(TlsSession, HandsATls13SessionOverAndCarriesDataBothWaysInEverySuite) {
  for (const char* suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    connection c([&](SSL_CTX*, SSL* s) { SSL_set_ciphersuites(s, suite); });
    ASSERT_TRUE(c.handshake()) << suite;
    EXPECT_TRUE(c.server->on_own_records()) << suite;
    ASSERT_TRUE(c.client_writes("hello"));
    EXPECT_EQ(c.server_reads(), "hello");
    auto r = c.server->write(text(100000).data(), 100000);
    ASSERT_FALSE(r.ec);
    std::string got;
    for (int i = 0; i < 100 && got.size() < 100000; ++i) {
      got += c.client_reads();
      if (r.need == tls_io::wait::writable) r = c.server->write(text(100000).data(), 100000);
    }
    EXPECT_EQ(got, text(100000)) << suite;
    // A client record larger than the reads: handed out piece by piece.
    ASSERT_TRUE(c.client_writes(text(40000, 'A')));
    EXPECT_EQ(c.server_reads(100), text(40000, 'A')) << suite;
  }
}

TEST(TlsSession, ATls12SessionStaysOnOpenSsl) {
  connection c([](SSL_CTX*, SSL* s) { SSL_set_max_proto_version(s, TLS1_2_VERSION); });
  ASSERT_TRUE(c.handshake());
  EXPECT_FALSE(c.server->on_own_records());
  ASSERT_TRUE(c.client_writes("over 1.2"));
  EXPECT_EQ(c.server_reads(), "over 1.2");
  ASSERT_FALSE(c.server->write("back", 4).ec);
  EXPECT_EQ(c.client_reads(), "back");
}

TEST(TlsSession, AResumedSessionIsHandedOverToo) {
  SSL_SESSION* session = nullptr;
  {
    connection first;
    ASSERT_TRUE(first.handshake());
    ASSERT_FALSE(first.server->write("tickets first", 13).ec);
    EXPECT_EQ(first.client_reads(), "tickets first");  // reads the session tickets before it
    session = SSL_get1_session(first.client);
    ASSERT_TRUE(session);
    SSL_shutdown(first.client);  // or freeing the client would mark its session not resumable
  }
  connection again([&](SSL_CTX*, SSL* s) { SSL_set_session(s, session); });
  ASSERT_TRUE(again.handshake());
  EXPECT_TRUE(SSL_session_reused(again.client));
  EXPECT_TRUE(again.server->on_own_records());
  ASSERT_FALSE(again.server->write("resumed", 7).ec);
  EXPECT_EQ(again.client_reads(), "resumed");
  ASSERT_TRUE(again.client_writes("and back"));
  EXPECT_EQ(again.server_reads(), "and back");
  SSL_SESSION_free(session);
}

TEST(TlsSession, FollowsTheClientsKeyUpdateAndAnswersItsRequest) {
  connection c;
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.server->on_own_records());
  ASSERT_EQ(SSL_key_update(c.client, SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_TRUE(c.client_writes("after the update"));
  EXPECT_EQ(c.server_reads(), "after the update");
  ASSERT_FALSE(c.server->write("answer", 6).ec);
  EXPECT_EQ(c.client_reads(), "answer");
  EXPECT_EQ(c.key_updates_received, 1);
  ASSERT_TRUE(c.client_writes("still in step"));
  EXPECT_EQ(c.server_reads(), "still in step");
}

TEST(TlsSession, ReplacesItsOwnKeyAfterTheConfiguredNumberOfRecords) {
  connection c({}, 4);
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.server->on_own_records());
  std::string expected;
  std::string got;
  for (int i = 0; i < 30; ++i) {
    std::string m = "message " + std::to_string(i) + "\n";
    expected += m;
    ASSERT_FALSE(c.server->write(m.data(), m.size()).ec);
    got += c.client_reads();
  }
  EXPECT_EQ(got, expected);
  EXPECT_GE(c.key_updates_received, 7);
}

TEST(TlsSession, AWriteThatWaitsIsRepeatedAndGoesOutOnceInOrder) {
  connection c;
  ASSERT_TRUE(c.handshake());
  int small = 4096;
  ::setsockopt(c.server_fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(c.client_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // The writer offers a growing window of one stream: what has not gone is offered again first.
  const std::string stream = text(1 << 20);
  std::size_t written = 0;
  std::size_t waits = 0;
  std::string got;
  for (int i = 0; i < 10000 && got.size() < stream.size(); ++i) {
    if (written < stream.size()) {
      std::size_t n = std::min<std::size_t>(stream.size() - written, 50000);
      auto r = c.server->write(stream.data() + written, n);
      ASSERT_FALSE(r.ec);
      if (r.need == tls_io::wait::none)
        written += r.bytes;
      else
        ++waits;
    }
    got += c.client_reads();
  }
  EXPECT_GT(waits, 0u);
  EXPECT_EQ(got.size(), stream.size());
  EXPECT_TRUE(got == stream);
}

TEST(TlsSession, CloseNotifyEndsTheStreamBothWays) {
  connection c;
  ASSERT_TRUE(c.handshake());
  ASSERT_TRUE(c.client_writes("last words"));
  ASSERT_EQ(SSL_shutdown(c.client), 0);  // sent, the server's not read yet
  EXPECT_EQ(c.server_reads(), "last words");
  char buf[16];
  auto r = c.server->read(buf, sizeof buf);
  EXPECT_EQ(r.ec, boost::asio::error::eof);
  EXPECT_FALSE(c.server->shutdown().ec);
  EXPECT_EQ(SSL_shutdown(c.client), 1);  // the server's close_notify arrived
}

TEST(TlsSession, AForgedRecordFailsTheSessionAndTheClientHearsWhy) {
  connection c;
  ASSERT_TRUE(c.handshake());
  std::string forged("\x17\x03\x03\x00\x20", 5);
  forged += std::string(32, 'x');
  ASSERT_EQ(::send(c.client_fd, forged.data(), forged.size(), 0), 37);
  char buf[64];
  auto r = c.server->read(buf, sizeof buf);
  EXPECT_EQ(r.ec, tls_record_error::bad_record_mac);
  EXPECT_TRUE(c.server->write("x", 1).ec);  // failed for good
  std::size_t got = 0;
  EXPECT_NE(SSL_read_ex(c.client, buf, sizeof buf, &got), 1);
  EXPECT_EQ(SSL_get_error(c.client, 0), SSL_ERROR_SSL);  // the bad_record_mac alert
}

TEST(TlsSession, APeerThatVanishesIsAnEndOfStream) {
  connection c;
  ASSERT_TRUE(c.handshake());
  ::shutdown(c.client_fd, SHUT_WR);
  char buf[16];
  EXPECT_EQ(c.server->read(buf, sizeof buf).ec, boost::asio::error::eof);
}

}  // namespace
}  // namespace hubcast::http::detail

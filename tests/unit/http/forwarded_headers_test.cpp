// X-Forwarded-For from known proxies only, its last entry, addresses validated.
#include <hubcast/http/forwarded_headers.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

using hubcast::http::forwarded_headers;
using hubcast::http::request;

namespace {
request with(std::vector<std::pair<std::string, std::string>> headers) {
  request r;
  for (auto& [n, v] : headers) r.headers.push_back({n, v});
  return r;
}
}  // namespace

TEST(ForwardedHeaders, OnlyAKnownProxyNamesTheClient) {
  forwarded_headers f({"127.0.0.1", "::1"});
  auto r = with({{"X-Forwarded-For", "10.0.0.7"}});
  EXPECT_EQ(f.client_address(r, "127.0.0.1"), "10.0.0.7");
  EXPECT_EQ(f.client_address(r, "::1"), "10.0.0.7");
  EXPECT_EQ(f.client_address(r, "::ffff:127.0.0.1"), "10.0.0.7");  // dual-stack socket
  EXPECT_EQ(f.client_address(r, "192.0.2.1"), "192.0.2.1");        // anyone else: ignored
  EXPECT_EQ(forwarded_headers().client_address(r, "127.0.0.1"), "127.0.0.1");
}

TEST(ForwardedHeaders, TheLastEntryOfTheLastLineIsWhatTheProxySaw) {
  forwarded_headers f({"127.0.0.1"});
  // A client's own (spoofed) entries come first; the proxy appends what it saw.
  EXPECT_EQ(f.client_address(with({{"x-forwarded-for", "6.6.6.6, 10.0.0.8"}}), "127.0.0.1"),
            "10.0.0.8");
  EXPECT_EQ(
      f.client_address(with({{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "10.0.0.9"}}),
                       "127.0.0.1"),
      "10.0.0.9");
  EXPECT_EQ(f.client_address(with({{"X-Forwarded-For", " [2001:db8::1] "}}), "127.0.0.1"),
            "2001:db8::1");
}

TEST(ForwardedHeaders, GarbageKeepsThePeer) {
  forwarded_headers f({"127.0.0.1"});
  for (const char* bad : {"", "unknown", "10.0.0.1:8080", "10.0.0.1, ", "\x01\x02", "999.1.1.1",
                          "a very long value that is certainly not an address at all"})
    EXPECT_EQ(f.client_address(with({{"X-Forwarded-For", bad}}), "127.0.0.1"), "127.0.0.1") << bad;
  EXPECT_EQ(f.client_address(with({}), "127.0.0.1"), "127.0.0.1");
  EXPECT_THROW(forwarded_headers({"localhost"}), std::invalid_argument);
}

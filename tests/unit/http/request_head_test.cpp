// What Beast lets through and Kestrel refuses (400).
#include <hubcast/http/request_head.hpp>

#include <gtest/gtest.h>

using namespace hubcast::http;

namespace {
head_verdict check(std::string_view head) {
  return check_request_head(head, 32 * 1024);
}
}  // namespace

TEST(RequestHead, AcceptsOrdinaryRequests) {
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), head_verdict::ok);
  EXPECT_EQ(check("POST /x HTTP/1.1\r\nhost: a\r\nContent-Length: 3\r\n\r\nabc"), head_verdict::ok);
  EXPECT_EQ(check("GET / HTTP/1.0\r\n\r\n"), head_verdict::ok) << "HTTP/1.0 needs no Host";
  EXPECT_EQ(check("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), head_verdict::ok)
      << "one empty line before the request line is ignored (RFC 9112 §2.2)";
}

TEST(RequestHead, WaitsForTheWholeHeadWithinTheLimit) {
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost: a\r\n"), head_verdict::incomplete);
  EXPECT_EQ(check_request_head(std::string(100, 'a'), 64), head_verdict::too_large);
  EXPECT_EQ(check_request_head("GET / HTTP/1.1\r\nHost: " + std::string(100, 'a') + "\r\n\r\n", 64),
            head_verdict::too_large);
}

TEST(RequestHead, RefusesWhatKestrelRefuses) {
  EXPECT_EQ(check("GET / HTTP/1.1\r\n\r\n"), head_verdict::bad_request) << "no Host";
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), head_verdict::bad_request);
  EXPECT_EQ(check("GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n"), head_verdict::bad_request);
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n"),
            head_verdict::bad_request)
      << "obs-fold";
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tcontinued\r\n\r\n"),
            head_verdict::bad_request);
  EXPECT_EQ(check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            head_verdict::bad_request);
  EXPECT_EQ(check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n"),
            head_verdict::bad_request)
      << "Kestrel refuses a repeated Content-Length even with equal values";
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), head_verdict::bad_request)
      << "whitespace before the colon";
  EXPECT_EQ(check("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"), head_verdict::bad_request);
  EXPECT_EQ(check("GET / HTTP/1.1\r\nnocolon\r\nHost: a\r\n\r\n"), head_verdict::bad_request);
}

TEST(RequestHead, ControlCharactersInTheDecodedPath) {
  EXPECT_FALSE(has_control_characters("/index.html"));
  EXPECT_FALSE(has_control_characters("/caf\xc3\xa9"));
  EXPECT_TRUE(has_control_characters(std::string("/index.html\0.js", 15)));
  EXPECT_TRUE(has_control_characters("/a\r\nb"));
  EXPECT_TRUE(has_control_characters("/a\x7f"));
}

// Found by probing: with a Content-Length beside it, a request hidden in the "chunk" data ran.
TEST(RequestHead, ATransferEncodingMustEndWithChunked) {
  for (const char* te : {"chunked, identity", "identity", "xchunked", "gzip", "chunked;x", ""}) {
    std::string head =
        std::string("POST /api/logout HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n") +
        "Transfer-Encoding: " + te + "\r\n\r\n";
    EXPECT_EQ(check(head), head_verdict::bad_request) << te;
  }
  EXPECT_EQ(check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
            head_verdict::ok);
  EXPECT_EQ(check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n"),
            head_verdict::ok);
  EXPECT_EQ(check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n"),
            head_verdict::ok)
      << "fields combine in order: the final coding is chunked";
  EXPECT_EQ(check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                  "identity\r\n\r\n"),
            head_verdict::bad_request);
}

TEST(RequestHead, AHostIsHostAndPort) {
  for (const char* ok :
       {"a", "a:80", "127.0.0.1:5000", "[::1]", "[::1]:443", "xn--bcher-kva.example", ""})
    EXPECT_TRUE(valid_host_value(ok)) << ok;
  for (const char* bad :
       {"a b", "a/b", "a:x", "a:123456", "[::1", "[::1]x", ":80", "a@b", "a\\b", "a?b"})
    EXPECT_FALSE(valid_host_value(bad)) << bad;
  EXPECT_EQ(check("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), head_verdict::bad_request);
}

TEST(RequestHead, AWebSocketKeyIsSixteenBytesOfBase64) {
  EXPECT_TRUE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
  for (const char* bad : {"", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ==x",
                          "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25jZSBvZiAyMCBi"})
    EXPECT_FALSE(valid_websocket_key(bad)) << bad;
}

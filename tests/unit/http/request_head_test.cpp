// What Beast lets through and Kestrel refuses (400).
#include "http/request_head.hpp"

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

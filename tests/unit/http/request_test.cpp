#include <hubcast/http/request.hpp>

#include <gtest/gtest.h>

#include <hubcast/http/router.hpp>

using namespace hubcast::http;

TEST(Request, HeadersQueryAndCookies) {
  request r;
  r.query = "id=abc%2Bd&NegotiateVersion=1&flag&x=a+b";
  r.headers = {{"Content-Type", "text/plain"}, {"Cookie", "a=1; testCookie=testValue"}};
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_FALSE(r.header("accept"));
  EXPECT_EQ(r.query_param("id"), "abc+d");
  EXPECT_EQ(r.query_param("negotiateVersion"), "1");
  EXPECT_EQ(r.query_param("flag"), "");
  EXPECT_EQ(r.query_param("x"), "a b");
  EXPECT_FALSE(r.query_param("nope"));
  EXPECT_EQ(r.cookie("testCookie"), "testValue");
  EXPECT_FALSE(r.cookie("b"));
}

TEST(Request, TokensAreRedactedFromLoggedTargets) {
  EXPECT_EQ(redact_target("/hubs/stocks?id=abc&access_token=eyJ.x.y&_=1"),
            "/hubs/stocks?id=[redacted]&access_token=[redacted]&_=1");
  EXPECT_EQ(redact_target("/plain"), "/plain");
  EXPECT_EQ(redact_target("/h?access%5Ftoken=eyJ&ID=x"),
            "/h?access%5Ftoken=[redacted]&ID=[redacted]")
      << "keys as the server decodes them";
}

TEST(Request, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(401), "Unauthorized");
  EXPECT_EQ(reason_phrase(404), "Not Found");
  EXPECT_EQ(reason_phrase(409), "Conflict");
}

TEST(Router, CaseInsensitiveExactThenLongestPrefix) {
  router r;
  int hit = 0;
  auto h = [&hit](int n) {
    return [&hit, n](exchange&) -> boost::asio::awaitable<void> {
      hit = n;
      co_return;
    };
  };
  r.add_exact("/testhub", h(1));
  r.add_exact("/testhub/negotiate", h(2));
  r.add_prefix("/redirect", h(3));
  r.add_prefix("/redirect/deep", h(4));
  EXPECT_NE(r.match("/testHub"), nullptr);
  EXPECT_NE(r.match("/TESTHUB/negotiate/"), nullptr);
  EXPECT_EQ(r.match("/testhub2"), nullptr);
  EXPECT_NE(r.match("/redirect/negotiate"), nullptr);
  EXPECT_EQ(r.match("/nothing"), nullptr);
}

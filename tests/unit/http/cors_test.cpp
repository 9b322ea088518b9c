#include <hubcast/http/cors.hpp>

#include <gtest/gtest.h>

using namespace hubcast::http;

namespace {
request with_origin(std::string origin, std::string host = "evil.example") {
  request r;
  r.method = "GET";
  r.headers = {{"Host", std::move(host)}, {"Origin", std::move(origin)}};
  return r;
}
}  // namespace

TEST(Cors, NormalizesOrigins) {
  EXPECT_EQ(cors_policy::normalize_origin("HTTP://Example.COM:80"), "http://example.com");
  EXPECT_EQ(cors_policy::normalize_origin("https://a.b:443/"), "https://a.b");
  EXPECT_EQ(cors_policy::normalize_origin("https://a.b:8443"), "https://a.b:8443");
  EXPECT_EQ(cors_policy::normalize_origin("http://[::1]:5000"), "http://[::1]:5000");
  EXPECT_FALSE(cors_policy::normalize_origin("null"));
  EXPECT_FALSE(cors_policy::normalize_origin("file://x"));
  EXPECT_FALSE(cors_policy::normalize_origin("http://a.b/path"));
  EXPECT_FALSE(cors_policy::normalize_origin("http://user@a.b"));
  EXPECT_FALSE(cors_policy::normalize_origin("http://a.b:x"));
}

TEST(Cors, OwnOriginsComeFromTheListeningUrlsNeverFromHost) {
  cors_policy p({.allowed_origins = {"https://app.example.com"}});
  p.set_server_urls({"http://127.0.0.1:5000", "https://10.0.0.5:5001", "http://0.0.0.0:8080"});
  EXPECT_TRUE(p.origin_allowed("https://app.example.com"));
  EXPECT_TRUE(p.origin_allowed("http://localhost:5000"));
  EXPECT_TRUE(p.origin_allowed("http://127.0.0.1:5000"));
  EXPECT_TRUE(p.origin_allowed("http://[::1]:5000"));
  EXPECT_TRUE(p.origin_allowed("https://10.0.0.5:5001"));
  EXPECT_FALSE(p.origin_allowed("http://localhost:5001")) << "another port is another origin";
  EXPECT_FALSE(p.origin_allowed("https://localhost:5000")) << "another scheme too";
  EXPECT_FALSE(p.origin_allowed("http://0.0.0.0:8080")) << "a wildcard bind names no origin";
  EXPECT_FALSE(p.origin_allowed("http://evil.example"));

  // "Host: evil.example" with "Origin: http://evil.example" is not same-origin.
  response res(200);
  p.on_response(with_origin("http://evil.example"), res);
  for (auto& h : res.headers) EXPECT_NE(h.name, "Access-Control-Allow-Origin");
  auto ws = with_origin("http://evil.example");
  ws.websocket_upgrade = true;
  auto refused = p.before_route(ws);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
}

TEST(Cors, AllowedOriginsGetTheHeadersAndPreflights) {
  cors_policy p({.allowed_origins = {"https://app.example.com"}});
  response res(200);
  p.on_response(with_origin("https://app.example.com"), res);
  bool found = false;
  for (auto& h : res.headers)
    if (h.name == "Access-Control-Allow-Origin") found = h.value == "https://app.example.com";
  EXPECT_TRUE(found);
  auto pre = with_origin("https://app.example.com");
  pre.method = "OPTIONS";
  pre.headers.push_back({"Access-Control-Request-Method", "POST"});
  auto r = p.before_route(pre);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_TRUE(std::any_of(r->headers.begin(), r->headers.end(),
                          [](auto& h) { return h.name == "Access-Control-Allow-Methods"; }));
  auto ws = with_origin("https://app.example.com");
  ws.websocket_upgrade = true;
  EXPECT_FALSE(p.before_route(ws));
  request no_origin;
  no_origin.websocket_upgrade = true;
  EXPECT_FALSE(p.before_route(no_origin)) << "non-browser clients send no Origin";
  cors_policy star({.allowed_origins = {"*"}});
  EXPECT_FALSE(star.origin_allowed("https://x.example")) << "* with credentials is refused";
}

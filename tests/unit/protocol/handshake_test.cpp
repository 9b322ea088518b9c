#include <hubcast/protocol/handshake.hpp>

#include <gtest/gtest.h>

using namespace hubcast::protocol;

TEST(Handshake, ParsesRequestAndSkipsUnknownProperties) {
  auto r = parse_handshake_request(R"({"protocol":"json","version":1,"extra":true})");
  auto& req = std::get<handshake_request>(r);
  EXPECT_EQ(req.protocol, "json");
  EXPECT_EQ(req.version, 1);
}

TEST(Handshake, RejectsMalformedRequests) {
  for (auto bad : {"", "{", "[]", R"({"version":1})", R"({"protocol":"json"})",
                   R"({"protocol":1,"version":1})", R"({"protocol":"json","version":"1"})"}) {
    EXPECT_TRUE(std::holds_alternative<handshake_error>(parse_handshake_request(bad))) << bad;
  }
}

TEST(Handshake, WritesExactResponses) {
  EXPECT_EQ(handshake_success(), std::string("{}\x1e"));
  EXPECT_EQ(handshake_failure("The protocol 'x' is not supported."),
            std::string("{\"error\":\"The protocol 'x' is not supported.\"}\x1e"));
}

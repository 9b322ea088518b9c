#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "transport/connection_manager.hpp"
#include "transport/http_dispatcher.hpp"

using namespace hubcast::transport;

TEST(Negotiate, ConnectionIdsAre128RandomBitsUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = make_connection_id();
    EXPECT_EQ(id.size(), 22u);
    for (char c : id)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Negotiate, Version1HasSeparateSecretToken) {
  connection_manager m(std::chrono::seconds(15));
  auto c = m.create(1, {});
  EXPECT_NE(c->id(), c->token());
  auto body = boost::json::parse(negotiate_response_body(*c, endpoint_options{})).as_object();
  EXPECT_EQ(body["negotiateVersion"].as_int64(), 1);
  EXPECT_EQ(body["connectionId"].as_string(), c->id());
  EXPECT_EQ(body["connectionToken"].as_string(), c->token());
  auto& t = body["availableTransports"].as_array();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(boost::json::serialize(t),
            R"([{"transport":"WebSockets","transferFormats":["Text","Binary"]},)"
            R"({"transport":"ServerSentEvents","transferFormats":["Text"]},)"
            R"({"transport":"LongPolling","transferFormats":["Text","Binary"]}])");
  endpoint_options no_ws;
  no_ws.websockets = false;
  auto only = boost::json::parse(negotiate_response_body(*c, no_ws)).as_object();
  EXPECT_EQ(only["availableTransports"].as_array().size(), 2u);
  EXPECT_FALSE(body.contains("useStatefulReconnect"));
  // The server indexes connections by token, never by the public id.
  EXPECT_EQ(m.find(c->token()), c);
  EXPECT_EQ(m.find(c->id()), nullptr);
}

TEST(Negotiate, Version0UsesTheIdAsToken) {
  connection_manager m(std::chrono::seconds(15));
  auto c = m.create(0, {});
  EXPECT_EQ(c->id(), c->token());
  auto body = boost::json::parse(negotiate_response_body(*c, endpoint_options{})).as_object();
  EXPECT_FALSE(body.contains("connectionToken"));
}

TEST(Negotiate, UnusedConnectionsExpireAfterTheDisconnectTimeout) {
  connection_manager m(std::chrono::seconds(15));
  auto unused = m.create(1, {});
  auto used = m.create(1, {});
  EXPECT_TRUE(used->try_start());
  EXPECT_FALSE(used->try_start()) << "only the first transport request starts it";
  m.scan_once(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(m.size(), 2u);
  m.scan_once(std::chrono::steady_clock::now() + std::chrono::seconds(16));
  EXPECT_EQ(m.find(unused->token()), nullptr);
  EXPECT_EQ(m.find(used->token()), used);
}

TEST(Negotiate, PendingConnectionsAreCapped) {
  connection_manager m(std::chrono::seconds(15), 3);
  auto a = m.create(1, {});
  auto b = m.create(1, {});
  auto c = m.create(1, {});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(m.pending(), 3u);
  EXPECT_EQ(m.create(1, {}), nullptr) << "a fourth waiting connection is refused";
  EXPECT_NE(m.create(1, {}, false), nullptr) << "skip-negotiation WebSockets are not pending";
  a->try_start();
  EXPECT_EQ(m.pending(), 2u) << "a started connection frees its slot";
  auto d = m.create(1, {});
  ASSERT_TRUE(d);
  m.remove(b->token());
  m.remove(b->token());
  EXPECT_EQ(m.pending(), 2u) << "removed once, counted once";
  m.scan_once(std::chrono::steady_clock::now() + std::chrono::seconds(16));
  EXPECT_EQ(m.pending(), 0u) << "expired unused connections free theirs";
  EXPECT_NE(m.create(1, {}), nullptr);
}

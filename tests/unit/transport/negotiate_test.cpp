#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include <hubcast/transport/connection_manager.hpp>
#include <hubcast/transport/http_dispatcher.hpp>

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

TEST(Negotiate, NamesTheTokenLifetimeOnlyWhenGiven) {
  connection_manager m(std::chrono::seconds(15));
  auto c = m.create(1, {});
  auto without = boost::json::parse(negotiate_response_body(*c, endpoint_options{})).as_object();
  EXPECT_FALSE(without.contains("tokenLifetimeSeconds"));
  auto with = boost::json::parse(negotiate_response_body(*c, endpoint_options{}, 299)).as_object();
  EXPECT_EQ(with.at("tokenLifetimeSeconds").as_int64(), 299);
}

TEST(AuthenticationRefresh, TokenLifetimeIsWholeSecondsAndAtLeastOne) {
  using namespace std::chrono;
  auto now = system_clock::time_point(seconds(1'800'000'000));
  EXPECT_EQ(token_lifetime_seconds(std::nullopt, now), std::nullopt);
  EXPECT_EQ(token_lifetime_seconds(now + milliseconds(299'900), now), 299);
  // Expired but still accepted inside the clock skew: refresh at once.
  EXPECT_EQ(token_lifetime_seconds(now - seconds(5), now), 1);
  EXPECT_EQ(token_lifetime_seconds(now + milliseconds(200), now), 1);
}

TEST(AuthenticationRefresh, Iso8601InUtcWithMilliseconds) {
  using namespace std::chrono;
  EXPECT_EQ(iso_8601_utc(system_clock::time_point(milliseconds(1'796'641'593'123))),
            "2026-12-07T11:06:33.123Z");
  EXPECT_EQ(iso_8601_utc(system_clock::time_point()), "1970-01-01T00:00:00.000Z");
}

TEST(AuthenticationRefresh, APollMustRefreshOnlyWithAnExpiredToken) {
  using namespace std::chrono;
  auto now = system_clock::now();
  hubcast::auth::authentication_result none;
  EXPECT_FALSE(refresh_required(none, now));
  hubcast::auth::authentication_result expired;
  expired.token_present = true;
  expired.reason = "expired";
  EXPECT_TRUE(refresh_required(expired, now));
  hubcast::auth::authentication_result forged = expired;
  forged.reason = "signature";
  EXPECT_FALSE(refresh_required(forged, now));
  hubcast::auth::authentication_result in_skew;
  in_skew.token_present = in_skew.authenticated = true;
  in_skew.expires_at = now - seconds(1);
  EXPECT_TRUE(refresh_required(in_skew, now));
  in_skew.expires_at = now + seconds(60);
  EXPECT_FALSE(refresh_required(in_skew, now));
  in_skew.expires_at.reset();  // a token without expiry never needs a refresh
  EXPECT_FALSE(refresh_required(in_skew, now));
}

TEST(AuthenticationRefresh, ErrorsAreJsonWithADescription) {
  auto r = refresh_error(409, "authentication_refresh_required", "refresh first");
  EXPECT_EQ(r.status, 409);
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("error").as_string(), "authentication_refresh_required");
  EXPECT_EQ(body.at("error_description").as_string(), "refresh first");
}

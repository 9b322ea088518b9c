#include "statistics.hpp"

#include <gtest/gtest.h>

using namespace stockhub;

namespace {
node_statistics sample() {
  node_statistics s;
  s.node = "host_0123";
  s.connections = 3;
  s.connections_by_transport = {{"WebSockets", 2}, {"LongPolling", 1}};
  s.connections_by_protocol = {{"json", 2}, {"messagepack", 1}};
  s.connected_users = 2;
  s.messages_per_second = 12.5;
  s.ticks_per_second = 2;
  return s;
}
}  // namespace

TEST(NodeStatistics, RoundTripsThroughTheTextWrittenToRedis) {
  auto text = encode_node_statistics(sample());
  EXPECT_NE(text.find("\"connectionsByTransport\":{"), std::string::npos);
  auto back = decode_node_statistics(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->node, "host_0123");
  EXPECT_EQ(back->connections, 3);
  EXPECT_EQ(back->connections_by_transport, sample().connections_by_transport);
  EXPECT_EQ(back->connections_by_protocol, sample().connections_by_protocol);
  EXPECT_EQ(back->connected_users, 2);
  EXPECT_EQ(back->messages_per_second, 12.5);
  EXPECT_EQ(back->ticks_per_second, 2);
}

TEST(NodeStatistics, RefusesWhatNoNodeWrites) {
  const char* bad[] = {
      "",
      "[]",
      "{}",                                                      // no node
      R"({"node":"a b"})",                                       // not printable
      R"({"node":"a","connections":-1})",                        // negative
      R"({"node":"a","connections":"3"})",                       // wrong type
      R"({"node":"a","connectedUsers":1.5})",                    // not an integer
      R"({"node":"a","messagesPerSecond":-2})",                  // negative rate
      R"({"node":"a","ticksPerSecond":1e999})",                  // not finite
      R"({"node":"a","connectionsByTransport":{"x":-1}})",       // negative count
      R"({"node":"a","connectionsByProtocol":{"":1}})",          // empty key
      R"({"node":"a","connectionsByTransport":{"x":{"y":1}}})",  // too deep
      R"({"node":"a",)",                                         // malformed
  };
  for (const char* b : bad) EXPECT_FALSE(decode_node_statistics(b)) << b;

  std::string many = R"({"node":"a","connectionsByTransport":{)";
  for (int i = 0; i < 17; ++i) many += (i ? "," : "") + ("\"t" + std::to_string(i) + "\":1");
  EXPECT_FALSE(decode_node_statistics(many + "}}"));

  std::string big = R"({"node":")" + std::string(max_node_statistics_bytes, 'a') + "\"}";
  EXPECT_FALSE(decode_node_statistics(big));
  std::string long_name = R"({"node":")" + std::string(257, 'a') + "\"}";
  EXPECT_FALSE(decode_node_statistics(long_name));
}

TEST(NodeStatistics, UnknownMembersAreIgnored) {
  auto s = decode_node_statistics(R"({"node":"a","connections":1,"version":2})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->connections, 1);
}

TEST(ConnectionRegistry, CountsByTransportProtocolAndUser) {
  connection_registry r;
  r.add("c1", {"a@x", {"Trader"}, "WebSockets", "json", {}});
  r.add("c2", {"a@x", {"Trader"}, "LongPolling", "messagepack", {}});
  r.add("c3", {"b@x", {"Admin"}, "WebSockets", "json", {}});
  node_statistics s;
  r.count(s);
  EXPECT_EQ(s.connections, 3);
  EXPECT_EQ(s.connected_users, 2);
  EXPECT_EQ(s.connections_by_transport.at("WebSockets"), 2);
  EXPECT_EQ(s.connections_by_protocol.at("messagepack"), 1);
  auto users = r.users();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].email, "a@x");
  EXPECT_EQ(users[0].connections, 2);
  EXPECT_EQ(users[0].transports, (std::vector<std::string>{"LongPolling", "WebSockets"}));
  r.remove("c1");
  r.remove("c2");
  node_statistics after;
  r.count(after);
  EXPECT_EQ(after.connections, 1);
  EXPECT_EQ(after.connected_users, 1);
}

TEST(RateMeter, MeasuresOverAWindowAndRepeatsInBetween) {
  rate_meter m(std::chrono::milliseconds(1000));
  auto t0 = std::chrono::steady_clock::time_point{};
  EXPECT_EQ(m.sample(100, 10, t0), (std::pair<double, double>{0, 0}));
  auto r1 = m.sample(300, 14, t0 + std::chrono::seconds(2));
  EXPECT_DOUBLE_EQ(r1.first, 100);
  EXPECT_DOUBLE_EQ(r1.second, 2);
  // Within the window: the last rate again.
  EXPECT_EQ(m.sample(1000, 20, t0 + std::chrono::milliseconds(2500)), r1);
}

TEST(NodeStatistics, ARateWithALongMantissaRoundTrips) {
  // fuzz_stockhub_tick's finding: 22 digits after the point came back an ulp away.
  auto s = decode_node_statistics(
      R"({"node":"hos0123456789abcd0cdef","connecnnners":2,"messagesPerSecond":12.2222222222222222222222})");
  ASSERT_TRUE(s);
  auto again = decode_node_statistics(encode_node_statistics(*s));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->messages_per_second, s->messages_per_second);
  EXPECT_EQ(s->messages_per_second, 12.222222222222221);  // the nearest double
}

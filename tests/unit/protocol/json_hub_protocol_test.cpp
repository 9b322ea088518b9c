#include <hubcast/protocol/json_hub_protocol.hpp>

#include <gtest/gtest.h>

#include <hubcast/protocol/hub_protocol.hpp>

using namespace hubcast::protocol;
namespace bj = boost::json;

namespace {
hub_message parse_ok(std::string_view s) {
  auto r = json::parse(s);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.message.has_value());
  return std::move(*r.message);
}
}  // namespace

TEST(JsonHubProtocol, ParsesInvocationWithTypeLast) {
  // The TS client writes `type` last (§5.1).
  auto m = parse_ok(R"({"target":"Send","arguments":[1,"x"],"invocationId":"0","type":1})");
  auto& inv = std::get<invocation_message>(m);
  EXPECT_FALSE(inv.streaming);
  EXPECT_EQ(inv.target, "Send");
  ASSERT_TRUE(inv.invocation_id);
  EXPECT_EQ(*inv.invocation_id, "0");
  ASSERT_EQ(inv.arguments.size(), 2u);
  EXPECT_EQ(inv.arguments[0].json().as_int64(), 1);
}

TEST(JsonHubProtocol, EmptyInvocationIdMeansNonBlocking) {
  auto m = parse_ok(R"({"type":1,"target":"A","arguments":[],"invocationId":""})");
  EXPECT_FALSE(std::get<invocation_message>(m).invocation_id);
}

TEST(JsonHubProtocol, ParsesStreamInvocationWithStreamIdsAndHeaders) {
  auto m = parse_ok(
      R"({"type":4,"invocationId":"3","target":"S","arguments":[],"streamIds":["1","2"],"headers":{"a":"b"}})");
  auto& inv = std::get<invocation_message>(m);
  EXPECT_TRUE(inv.streaming);
  EXPECT_EQ(inv.stream_ids, (std::vector<std::string>{"1", "2"}));
  ASSERT_EQ(inv.headers.size(), 1u);
  EXPECT_EQ(inv.headers[0].second, "b");
}

TEST(JsonHubProtocol, ParsesEveryOtherType) {
  EXPECT_EQ(std::get<stream_item_message>(parse_ok(R"({"type":2,"invocationId":"1","item":null})"))
                .item.json()
                .is_null(),
            true);
  auto c = std::get<completion_message>(parse_ok(R"({"type":3,"invocationId":"1","result":5})"));
  EXPECT_TRUE(c.has_result);
  auto e = std::get<completion_message>(parse_ok(R"({"type":3,"invocationId":"1","error":"x"})"));
  EXPECT_EQ(*e.error, "x");
  auto v = std::get<completion_message>(parse_ok(R"({"type":3,"invocationId":"1"})"));
  EXPECT_FALSE(v.has_result);
  EXPECT_FALSE(v.error);
  EXPECT_EQ(std::get<cancel_invocation_message>(parse_ok(R"({"type":5,"invocationId":"9"})"))
                .invocation_id,
            "9");
  EXPECT_TRUE(std::holds_alternative<ping_message>(parse_ok(R"({"type":6})")));
  auto cl = std::get<close_message>(parse_ok(R"({"type":7,"error":"e","allowReconnect":true})"));
  EXPECT_EQ(*cl.error, "e");
  EXPECT_TRUE(cl.allow_reconnect);
  EXPECT_EQ(std::get<ack_message>(parse_ok(R"({"type":8,"sequenceId":12})")).sequence_id, 12);
  EXPECT_EQ(std::get<sequence_message>(parse_ok(R"({"type":9,"sequenceId":13})")).sequence_id, 13);
}

TEST(JsonHubProtocol, IgnoresUnknownTypesAndProperties) {
  auto r = json::parse(R"({"type":42,"x":1})");
  EXPECT_TRUE(r.error.empty());
  EXPECT_FALSE(r.message);
  parse_ok(R"({"type":6,"whatever":[1,2]})");
}

TEST(JsonHubProtocol, RejectsMalformedMessages) {
  for (auto bad : {R"(not json)", R"([1])", R"({"target":"a"})", R"({"type":"1"})",
                   R"({"type":1,"arguments":[]})", R"({"type":1,"target":"","arguments":[]})",
                   R"({"type":1,"target":"a"})", R"({"type":1,"target":"a","arguments":{}})",
                   R"({"type":2,"item":1})", R"({"type":3})",
                   R"({"type":3,"invocationId":"1","result":1,"error":"x"})",
                   R"({"type":4,"target":"a","arguments":[]})", R"({"type":8})",
                   R"({"type":1,"target":"a","arguments":[],"headers":{"a":1}})"}) {
    EXPECT_FALSE(json::parse(bad).error.empty()) << bad;
  }
}

TEST(JsonHubProtocol, WritesExactRecords) {
  std::string out;
  json::write_invocation(out, "ReceiveMessage", bj::array{"bob", "hi"});
  EXPECT_EQ(out, "{\"type\":1,\"target\":\"ReceiveMessage\",\"arguments\":[\"bob\",\"hi\"]}\x1e");
  out.clear();
  json::write_invocation(out, "GetName", bj::array{}, "7");
  EXPECT_EQ(out, "{\"type\":1,\"invocationId\":\"7\",\"target\":\"GetName\",\"arguments\":[]}\x1e");
  out.clear();
  json::write_completion_result(out, "1", nullptr);
  EXPECT_EQ(out, "{\"type\":3,\"invocationId\":\"1\",\"result\":null}\x1e");
  out.clear();
  json::write_completion_void(out, "3");
  EXPECT_EQ(out, "{\"type\":3,\"invocationId\":\"3\"}\x1e");
  out.clear();
  json::write_completion_error(out, "2", "bad \"thing\"\n");
  EXPECT_EQ(out, "{\"type\":3,\"invocationId\":\"2\",\"error\":\"bad \\\"thing\\\"\\n\"}\x1e");
  out.clear();
  json::write_stream_item(out, "3", 5);
  EXPECT_EQ(out, "{\"type\":2,\"invocationId\":\"3\",\"item\":5}\x1e");
  out.clear();
  json::write_ping(out);
  EXPECT_EQ(out, "{\"type\":6}\x1e");
  out.clear();
  json::write_close(out, "Connection closed with an error.", true);
  EXPECT_EQ(
      out,
      "{\"type\":7,\"error\":\"Connection closed with an error.\",\"allowReconnect\":true}\x1e");
  out.clear();
  json::write_close(out, std::nullopt, false);
  EXPECT_EQ(out, "{\"type\":7}\x1e");
  out.clear();
  json::write_ack(out, 12);
  json::write_sequence(out, 13);
  EXPECT_EQ(out, "{\"type\":8,\"sequenceId\":12}\x1e{\"type\":9,\"sequenceId\":13}\x1e");
}

TEST(JsonHubProtocol, RecordSeparatorNeverAppearsInsideARecord) {
  std::string out;
  json::write_completion_error(out, "1",
                               std::string("a\x1e"
                                           "b",
                                           3));
  EXPECT_EQ(out.find('\x1e'), out.size() - 1);
}

TEST(JsonHubProtocol, ParseNextHandlesSeveralAndPartialRecords) {
  const auto& p = json_protocol();
  std::string input = "{\"type\":6}\x1e{\"type\":6}\x1e{\"type\":";
  std::string_view view(input);
  EXPECT_EQ(p.parse_next(view, 0).kind, parse_step::message);
  EXPECT_EQ(p.parse_next(view, 0).kind, parse_step::message);
  EXPECT_EQ(p.parse_next(view, 0).kind, parse_step::need_more);
  EXPECT_EQ(view, "{\"type\":");
}

TEST(JsonHubProtocol, MaximumMessageSizeCountsTheSeparator) {
  const auto& p = json_protocol();
  std::string rec = "{\"type\":6}\x1e";  // 11 bytes
  std::string_view v1(rec);
  EXPECT_EQ(p.parse_next(v1, 11).kind, parse_step::message);
  std::string_view v2(rec);
  EXPECT_EQ(p.parse_next(v2, 10).kind, parse_step::too_large);
  std::string partial(20, ' ');
  std::string_view v3(partial);
  EXPECT_EQ(p.parse_next(v3, 20).kind, parse_step::too_large);
  std::string_view v4(partial);
  EXPECT_EQ(p.parse_next(v4, 21).kind, parse_step::need_more);
}

// System.Text.Json's default depth (64): deeper arguments close the connection, 64 is fine.
TEST(JsonHubProtocol, NestingDepthIsSystemTextJsonsDefault) {
  auto nested = [](int depth) {
    // The message object and the arguments array are two levels already.
    std::string args(static_cast<std::size_t>(depth - 2), '[');
    args += std::string(static_cast<std::size_t>(depth - 2), ']');
    return R"({"type":1,"target":"Echo","arguments":[)" + args + "]}";
  };
  EXPECT_TRUE(json::parse(nested(64)).error.empty());
  EXPECT_FALSE(json::parse(nested(65)).error.empty());
  EXPECT_FALSE(json::parse(nested(100000)).error.empty());
}

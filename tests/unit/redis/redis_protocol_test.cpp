// The backplane payloads against bytes ASP.NET Core 10 published (design/redis-backplane.md),
// and the readers against hostile input.
#include <hubcast/redis/redis_protocol.hpp>

#include <gtest/gtest.h>

#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/protocol/payload.hpp>
#include <hubcast/redis/redis_channels.hpp>

using namespace hubcast;
using namespace hubcast::redis;

namespace {

std::string raw(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
std::string str8(std::string_view s) {  // fixstr or str8, as MessagePack writes it
  std::string out;
  if (s.size() < 32) {
    out.push_back(static_cast<char>(0xa0 | s.size()));
  } else {
    out.push_back(static_cast<char>(0xd9));
    out.push_back(static_cast<char>(s.size()));
  }
  out.append(s);
  return out;
}

const std::string connection_id = "KbUtgqxPVcHmTRU1G1_kgA";
const std::string server = "vm_1e903923a6d844e985bb70585974333d";

}  // namespace

TEST(RedisProtocol, InvocationIsWhatAspNetCorePublishes) {
  // SendToOthers("others#3-ebee33") from a1, as captured.
  std::string json = R"({"type":1,"target":"Message","arguments":["others#3-ebee33"]})";
  json.push_back('\x1e');
  std::string mp = raw({0x1e, 0x96, 0x01, 0x80, 0xc0}) + str8("Message") + raw({0x91}) +
                   str8("others#3-ebee33") + raw({0x90});
  std::string expected = raw({0x92, 0x91}) + str8(connection_id) + raw({0x82}) + str8("json") +
                         raw({0xc4, 0x3e}) + json + str8("messagepack") + raw({0xc4, 0x1f}) + mp;

  // Our protocols write exactly those message bytes ...
  auto args = protocol::payload::arguments(std::string("others#3-ebee33"));
  std::string our_json, our_mp;
  protocol::protocol_by_id(protocol::protocol_id::json)
      .write_invocation(our_json, "Message", args, std::nullopt, {});
  protocol::protocol_by_id(protocol::protocol_id::messagepack)
      .write_invocation(our_mp, "Message", args, std::nullopt, {});
  EXPECT_EQ(our_json, json);
  EXPECT_EQ(our_mp, mp);
  // ... and the envelope around them.
  auto written = write_invocation({connection_id}, {{"json", our_json}, {"messagepack", our_mp}});
  EXPECT_EQ(written, expected);

  auto inv = read_invocation(expected);
  ASSERT_EQ(inv.excluded.size(), 1u);
  EXPECT_EQ(inv.excluded[0], connection_id);
  ASSERT_EQ(inv.messages.size(), 2u);
  EXPECT_EQ(inv.messages[0].protocol, "json");
  EXPECT_EQ(inv.messages[0].bytes, json);
  EXPECT_EQ(inv.messages[1].protocol, "messagepack");
  EXPECT_EQ(inv.messages[1].bytes, mp);
  EXPECT_FALSE(inv.invocation_id);
}

TEST(RedisProtocol, InvocationWithAResultCarriesIdAndReturnChannel) {
  auto w = write_invocation({}, {{"json", "x"}}, std::string("id1"), std::string("h:ret"));
  EXPECT_EQ(static_cast<unsigned char>(w[0]), 0x94);
  EXPECT_EQ(static_cast<unsigned char>(w[1]), 0x90);  // no exclusions: an empty array
  auto inv = read_invocation(w);
  EXPECT_EQ(inv.invocation_id, "id1");
  EXPECT_EQ(inv.return_channel, "h:ret");
  // Extra trailing items are ignored, as the .NET reader does.
  auto longer = w;
  longer[0] = static_cast<char>(0x95);
  longer.push_back(static_cast<char>(0xc0));
  EXPECT_EQ(read_invocation(longer).invocation_id, "id1");
}

TEST(RedisProtocol, GroupCommandAndAck) {
  std::string expected =
      raw({0x95, 0x01}) + str8(server) + raw({0x01}) + str8("remote-AB-0") + str8(connection_id);
  redis_group_command c;
  c.id = 1;
  c.server = server;
  c.action = static_cast<std::uint8_t>(group_action::add);
  c.group = "remote-AB-0";
  c.connection_id = connection_id;
  EXPECT_EQ(write_group_command(c), expected);
  auto back = read_group_command(expected);
  EXPECT_EQ(back.id, 1);
  EXPECT_EQ(back.server, server);
  EXPECT_EQ(back.action, 1);
  EXPECT_EQ(back.group, "remote-AB-0");
  EXPECT_EQ(back.connection_id, connection_id);

  EXPECT_EQ(write_ack(1), raw({0x91, 0x01}));
  EXPECT_EQ(read_ack(raw({0x91, 0x01})), 1);
  // Any integer encoding: uint16 and int32 forms of 300.
  EXPECT_EQ(read_ack(raw({0x91, 0xcd, 0x01, 0x2c})), 300);
  EXPECT_EQ(read_ack(raw({0x91, 0xd2, 0x00, 0x00, 0x01, 0x2c})), 300);
  // Remove is 2; an unknown action still parses (acknowledged without a change).
  auto remove = expected;
  remove[2 + server.size() + 2] = 0x02;
  EXPECT_EQ(read_group_command(remove).action, 2);
}

TEST(RedisProtocol, Completion) {
  std::string mp =
      raw({0x1c, 0x95, 0x03, 0x80}) + str8("jawJ7eiTwUmgDLAfsYfALQ") + raw({0x03, 0x2d});
  auto w = write_completion("messagepack", mp);
  auto c = read_completion(w);
  EXPECT_EQ(c.protocol, "messagepack");
  EXPECT_EQ(c.bytes, mp);
}

TEST(RedisProtocol, RefusesWhatIsNotAPayload) {
  for (const std::string& bad : {
           std::string(),
           raw({0xc0}),                                    // nil
           raw({0x91, 0x90}),                              // invocation of 1 item
           raw({0x92, 0x90, 0x90}),                        // serializations not a map
           raw({0x92, 0x91, 0x01, 0x80}),                  // an excluded id that is an int
           raw({0x92, 0x90, 0x81, 0xa1, 'j', 0xa1, 'x'}),  // a message that is a str
           raw({0x92, 0x90, 0x81}),                        // truncated
           raw({0xdd, 0xff, 0xff, 0xff, 0xff}),            // 4 G items declared in 5 bytes
           raw({0x92, 0x90, 0xdf, 0x7f, 0xff, 0xff, 0xff}),
       }) {
    EXPECT_THROW(read_invocation(bad), protocol_error) << testing::PrintToString(bad);
  }
  EXPECT_THROW(read_ack(raw({0x91, 0xa1, 'x'})), protocol_error);
  EXPECT_THROW(read_ack(raw({0x91, 0xcf, 1, 0, 0, 0, 0, 0, 0, 0})), protocol_error);  // > int32
  EXPECT_THROW(
      read_group_command(raw({0x95, 0x01, 0xa1, 's', 0xcd, 0x01, 0x00, 0xa1, 'g', 0xa1, 'c'})),
      protocol_error);  // action 256
  EXPECT_THROW(read_completion(raw({0x92, 0xa1, 'j', 0xa1, 'x'})), protocol_error);
}

TEST(RedisChannels, NamesAsAspNetCore) {
  redis_channels c("", "Hubcast.Conformance.ClusterHub");
  EXPECT_EQ(c.all(), "Hubcast.Conformance.ClusterHub:all");
  EXPECT_EQ(c.group_management(), "Hubcast.Conformance.ClusterHub:internal:groups");
  EXPECT_EQ(c.ack(server), "Hubcast.Conformance.ClusterHub:internal:ack:" + server);
  EXPECT_EQ(c.return_results(server), "Hubcast.Conformance.ClusterHub:internal:return:" + server);
  EXPECT_EQ(c.connection(connection_id),
            "Hubcast.Conformance.ClusterHub:connection:" + connection_id);
  EXPECT_EQ(c.group("room 7/\xc3\xbc"), "Hubcast.Conformance.ClusterHub:group:room 7/\xc3\xbc");
  EXPECT_EQ(c.user("alice"), "Hubcast.Conformance.ClusterHub:user:alice");
  redis_channels prefixed("app1", "Hub");
  EXPECT_EQ(prefixed.all(), "app1Hub:all");
}

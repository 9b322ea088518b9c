// Golden bytes for the MessagePack hub protocol layouts (signalr-protocol.md §6.2).
#include <hubcast/protocol/msgpack_hub_protocol.hpp>

#include <gtest/gtest.h>

#include <boost/describe/class.hpp>

#include <hubcast/protocol/msgpack_bounds.hpp>
#include <hubcast/protocol/msgpack_value.hpp>

using namespace hubcast;
using namespace hubcast::protocol;

namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out += ' ';
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string bytes_of(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s += static_cast<char>(x);
  return s;
}

const hub_protocol& mp() {
  return msgpack_protocol::instance();
}

struct stock_price {
  std::string symbol;
  double price = 0;
};
BOOST_DESCRIBE_STRUCT(stock_price, (), (symbol, price))

}  // namespace

TEST(MsgpackHubProtocol, VarintFraming) {
  std::string out;
  msgpack_protocol::write_varint(out, 5248);
  EXPECT_EQ(hex(out), "80 29");
  std::uint32_t n = 0;
  EXPECT_EQ(msgpack_protocol::read_varint(out, n), 2);
  EXPECT_EQ(n, 5248u);
  EXPECT_EQ(msgpack_protocol::read_varint(bytes_of({0x80}), n), 0) << "incomplete";
  EXPECT_EQ(msgpack_protocol::read_varint(bytes_of({0xff, 0xff, 0xff, 0xff, 0x08}), n), -1);
  EXPECT_EQ(msgpack_protocol::read_varint(bytes_of({0xff, 0xff, 0xff, 0xff, 0x07}), n), 5);
  EXPECT_EQ(n, 0x7fffffffu);
}

TEST(MsgpackHubProtocol, ParsesTheSpecExampleInvocation) {
  // [1, {}, "xyz", "method", [42], []] framed with 0x11 (§6.2).
  auto in = bytes_of({0x11, 0x96, 0x01, 0x80, 0xA3, 0x78, 0x79, 0x7A, 0xA6, 0x6D, 0x65, 0x74, 0x68,
                      0x6F, 0x64, 0x91, 0x2A, 0x90});
  std::string_view v(in);
  auto step = mp().parse_next(v, 32768);
  ASSERT_EQ(step.kind, parse_step::message) << step.error;
  EXPECT_TRUE(v.empty());
  auto& inv = std::get<invocation_message>(*step.msg);
  EXPECT_EQ(*inv.invocation_id, "xyz");
  EXPECT_EQ(inv.target, "method");
  ASSERT_EQ(inv.arguments.size(), 1u);
  EXPECT_EQ(from_raw<int>(inv.arguments[0]), 42);
}

TEST(MsgpackHubProtocol, AcceptsFiveElementInvocationsFromTheTsClient) {
  // [1, {}, nil, "A", []]
  auto in = bytes_of({0x07, 0x95, 0x01, 0x80, 0xC0, 0xA1, 0x41, 0x90});
  std::string_view v(in);
  auto step = mp().parse_next(v, 0);
  ASSERT_EQ(step.kind, parse_step::message) << step.error;
  auto& inv = std::get<invocation_message>(*step.msg);
  EXPECT_FALSE(inv.invocation_id);
  EXPECT_TRUE(inv.stream_ids.empty());
}

TEST(MsgpackHubProtocol, AcceptsTwoAndThreeElementClose) {
  auto two = bytes_of({0x03, 0x92, 0x07, 0xC0});
  std::string_view v(two);
  auto s = mp().parse_next(v, 0);
  ASSERT_EQ(s.kind, parse_step::message);
  EXPECT_FALSE(std::get<close_message>(*s.msg).error);
  auto three = bytes_of({0x05, 0x93, 0x07, 0xA1, 0x65, 0xC3});
  std::string_view v3(three);
  auto s3 = mp().parse_next(v3, 0);
  ASSERT_EQ(s3.kind, parse_step::message);
  EXPECT_EQ(*std::get<close_message>(*s3.msg).error, "e");
  EXPECT_TRUE(std::get<close_message>(*s3.msg).allow_reconnect);
}

TEST(MsgpackHubProtocol, WritesTheReferenceLayouts) {
  std::string out;
  mp().write_ping(out);
  EXPECT_EQ(hex(out), "02 91 06");
  out.clear();
  mp().write_invocation(out, "method", payload::arguments(42), std::string_view("xyz"), {});
  EXPECT_EQ(hex(out), "11 96 01 80 A3 78 79 7A A6 6D 65 74 68 6F 64 91 2A 90");
  out.clear();
  mp().write_invocation(out, "A", payload::arguments(), std::nullopt, {});
  EXPECT_EQ(hex(out), "08 96 01 80 C0 A1 41 90 90");
  out.clear();
  mp().write_completion_result(out, "1", payload::of(nullptr), {});
  EXPECT_EQ(hex(out), "07 95 03 80 A1 31 03 C0") << "void methods: kind 3 + nil";
  out.clear();
  mp().write_completion_void(out, "1");
  EXPECT_EQ(hex(out), "06 94 03 80 A1 31 02") << "stream end: kind 2";
  out.clear();
  mp().write_completion_error(out, "1", "x");
  EXPECT_EQ(hex(out), "08 95 03 80 A1 31 01 A1 78");
  out.clear();
  mp().write_stream_item(out, "1", payload::of(std::string("a")), {});
  EXPECT_EQ(hex(out), "07 94 02 80 A1 31 A1 61");
  out.clear();
  mp().write_close(out, std::nullopt, true);
  EXPECT_EQ(hex(out), "04 93 07 C0 C3");
}

TEST(MsgpackHubProtocol, StructsBytesAndTimestamps) {
  std::string out;
  mp().write_stream_item(out, "1", payload::of(stock_price{"MSFT", 1.5}), {});
  // map{"Symbol":"MSFT","Price":1.5}: PascalCase like ASP.NET Core's MessagePack resolver.
  EXPECT_NE(out.find("Symbol"), std::string::npos);
  EXPECT_NE(out.find("Price"), std::string::npos);
  out.clear();
  using namespace std::chrono;
  date_time t{sys_days{year{2000} / January / 1}.time_since_epoch()};
  mp().write_stream_item(out, "1", payload::of(t), {});
  EXPECT_EQ(hex(out.substr(out.size() - 6)), "D6 FF 38 6D 43 80") << "timestamp 32";
  out.clear();
  mp().write_stream_item(out, "1", payload::of(bytes{{1, 2, 3}}), {});
  EXPECT_EQ(hex(out.substr(out.size() - 5)), "C4 03 01 02 03") << "bin 8";
}

TEST(MsgpackHubProtocol, RejectsMalformedInput) {
  for (auto bad : {bytes_of({0x01, 0x06}), bytes_of({0x02, 0x91, 0xA0}),
                   bytes_of({0x05, 0x94, 0x03, 0x80, 0xA1, 0x31}),
                   bytes_of({0x06, 0x95, 0x03, 0x80, 0xA1, 0x31, 0x09}),
                   bytes_of({0x06, 0x95, 0x01, 0x80, 0xC0, 0xA0, 0x90})}) {
    std::string_view v(bad);
    EXPECT_EQ(mp().parse_next(v, 0).kind, parse_step::invalid) << hex(bad);
  }
  auto big = bytes_of({0xff, 0xff, 0x03});
  std::string_view v(big);
  EXPECT_EQ(mp().parse_next(v, 32768).kind, parse_step::too_large);
}

TEST(Payload, PreserializedValuesWriteTheSameBytesInBothProtocols) {
  stock_price s{"MSFT", 412.25};
  auto once = payload::preserialize(s, {});
  for (const hub_protocol* p : {&json_protocol(), &mp()}) {
    std::string a, b;
    p->write_stream_item(a, "7", payload::of(s), {});
    p->write_stream_item(b, "7", once, {});
    EXPECT_EQ(hex(a), hex(b)) << p->name();
  }
}

// A frame that declares more elements than its bytes can hold is invalid before anything is
// allocated (msgpack-cxx would allocate 2^32-1 objects, 96 GiB, for six bytes).
TEST(MsgpackHubProtocol, DeclaredCountsAndLengthsAreBoundedByTheBytesLeft) {
  auto framed = [](const std::string& body) {
    std::string out;
    msgpack_protocol::write_varint(out, static_cast<std::uint32_t>(body.size()));
    return out + body;
  };
  for (const std::string& body : {
           bytes_of({0xdd, 0xff, 0xff, 0xff, 0xff}),  // array32 of 2^32-1
           bytes_of({0xdf, 0xff, 0xff, 0xff, 0xff}),  // map32 of 2^32-1
           bytes_of({0x96, 0x01, 0x80, 0xc0, 0xa4, 'E', 'c', 'h', 'o', 0xdd, 0x7f, 0xff, 0xff, 0xff,
                     0x90}),                                // arguments: array32 of 2^31
           bytes_of({0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'}),   // str32 of 2 GiB
           bytes_of({0xc6, 0x00, 0x01, 0x00, 0x00}),        // bin32 of 64 KiB, no bytes
           bytes_of({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}),  // ext32
           bytes_of({0x93, 0x01, 0x02}),                    // 3 declared, 2 present
           bytes_of({0xc1}),                                // never-used type byte
       }) {
    std::string keep = framed(body);
    std::string_view view = keep;
    auto step = mp().parse_next(view, 0);
    EXPECT_EQ(step.kind, parse_step::invalid) << hex(body);
  }
  // Nested arrays each declaring 15 elements cannot add up past the bytes either.
  std::string bomb;
  for (int i = 0; i < 1000; ++i) bomb += static_cast<char>(0x9f);
  std::string keep = framed(bomb);
  std::string_view view = keep;
  EXPECT_EQ(mp().parse_next(view, 0).kind, parse_step::invalid);
  // 501 levels is deeper than MessagePack for C# reads from untrusted peers.
  std::string deep = bytes_of({0x96, 0x01, 0x80, 0xc0, 0xa4, 'E', 'c', 'h', 'o'});
  for (int i = 0; i < 600; ++i) deep += static_cast<char>(0x91);
  deep += static_cast<char>(0xc0);
  deep += static_cast<char>(0x90);
  keep = framed(deep);
  view = keep;
  EXPECT_EQ(mp().parse_next(view, 0).kind, parse_step::invalid);
}

TEST(MsgpackHubProtocol, BoundsCheckAcceptsWhatTheClientsSend) {
  std::string err;
  // [1, {}, "0", "Echo", ["hi", [1, 2]], []]
  auto ok = bytes_of({0x96, 0x01, 0x80, 0xa1, '0', 0xa4, 'E', 'c', 'h', 'o', 0x92, 0xa2, 'h', 'i',
                      0x92, 0x01, 0x02, 0x90});
  EXPECT_TRUE(check_msgpack_bounds(ok, err)) << err;
  EXPECT_FALSE(check_msgpack_bounds(ok + "x", err));
  EXPECT_FALSE(check_msgpack_bounds("", err));
  EXPECT_TRUE(check_msgpack_bounds(bytes_of({0xc7, 0x00, 0x05}), err)) << "empty ext8";
  EXPECT_TRUE(check_msgpack_bounds(bytes_of({0xd6, 0xff, 0, 0, 0, 1}), err)) << "timestamp32";
}

#include <hubcast/protocol/value_codec.hpp>

#include <hubcast/protocol/msgpack_value.hpp>

#include <gtest/gtest.h>

#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace {
hubcast::msgpack_view view(const msgpack::object& o) {
  return hubcast::protocol::msgpack_access::view(o);
}

struct price_event {
  std::string symbol;
  double last_price = 0;
  std::optional<int> volume;
  std::vector<std::string> tags;
  std::map<std::string, int> counts;
};
BOOST_DESCRIBE_STRUCT(price_event, (), (symbol, last_price, volume, tags, counts))

struct node_figures {
  std::string node;
  int connections = 0;
};
BOOST_DESCRIBE_STRUCT(node_figures, (), (node, connections))
struct cluster_figures : node_figures {
  std::vector<node_figures> nodes;
};
BOOST_DESCRIBE_STRUCT(cluster_figures, (node_figures), (nodes))
}  // namespace

using namespace hubcast;

TEST(ValueCodec, DescribedStructsUseCamelCaseByDefault) {
  price_event e{"MSFT", 1.5, std::nullopt, {"a"}, {{"x", 1}}};
  EXPECT_EQ(boost::json::serialize(to_json(e)),
            R"({"symbol":"MSFT","lastPrice":1.5E0,"volume":null,"tags":["a"],"counts":{"x":1}})");
  encode_options as_declared{naming_policy::as_declared};
  EXPECT_NE(boost::json::serialize(to_json(e, as_declared)).find("\"last_price\""),
            std::string::npos);
}

TEST(ValueCodec, ReadsStructsCaseInsensitively) {
  auto v = boost::json::parse(R"({"SYMBOL":"A","lastPrice":2,"volume":7,"tags":[],"counts":{}})");
  auto e = from_json<price_event>(v);
  EXPECT_EQ(e.symbol, "A");
  EXPECT_EQ(e.last_price, 2);
  EXPECT_EQ(e.volume, 7);
}

TEST(ValueCodec, InheritedMembersComeFirstBothWays) {
  cluster_figures c;
  c.node = "a";
  c.connections = 2;
  c.nodes = {{"a", 2}, {"b", 5}};
  EXPECT_EQ(boost::json::serialize(to_json(c)),
            R"({"node":"a","connections":2,"nodes":[{"node":"a","connections":2},)"
            R"({"node":"b","connections":5}]})");
  auto back = from_json<cluster_figures>(to_json(c));
  EXPECT_EQ(back.node, "a");
  EXPECT_EQ(back.connections, 2);
  ASSERT_EQ(back.nodes.size(), 2u);
  EXPECT_EQ(back.nodes[1].connections, 5);

  std::string buf;
  hubcast::msgpack_writer w(buf);
  hubcast::to_msgpack(w, c);
  auto handle = msgpack::unpack(buf.data(), buf.size());
  ASSERT_EQ(handle.get().type, msgpack::type::MAP);
  EXPECT_EQ(handle.get().via.map.size, 3u);  // Node, Connections, Nodes
  auto again = hubcast::from_msgpack<cluster_figures>(view(handle.get()));
  EXPECT_EQ(again.node, "a");
  ASSERT_EQ(again.nodes.size(), 2u);
  EXPECT_EQ(again.nodes[1].node, "b");
}

TEST(ValueCodec, RejectsWrongTypesAndRanges) {
  EXPECT_THROW(from_json<int>(boost::json::value("x")), binding_error);
  EXPECT_THROW(from_json<std::uint8_t>(boost::json::value(300)), binding_error);
  EXPECT_THROW(from_json<int>(boost::json::value(1.5)), binding_error);
  EXPECT_EQ(from_json<int>(boost::json::value(2.0)), 2);
  EXPECT_THROW(from_json<std::string>(boost::json::value(1)), binding_error);
  EXPECT_THROW(from_json<std::vector<int>>(boost::json::value(1)), binding_error);
  EXPECT_THROW(from_json<bool>(boost::json::value(1)), binding_error);
}

TEST(ValueCodec, BytesAreBase64) {
  bytes b{{1, 2, 3}};
  EXPECT_EQ(to_json(b).as_string(), "AQID");
  EXPECT_EQ(from_json<bytes>(boost::json::value("AQID")), b);
  EXPECT_EQ(from_json<bytes>(boost::json::value("AQ==")).data, std::vector<std::uint8_t>{1});
  EXPECT_THROW(from_json<bytes>(boost::json::value("*")), binding_error);
}

TEST(ValueCodec, DateTimesAreIso8601Utc) {
  using namespace std::chrono;
  date_time t{sys_days{year{2000} / January / 1}.time_since_epoch()};
  EXPECT_EQ(to_json(t).as_string(), "2000-01-01T00:00:00Z");
  EXPECT_EQ(from_json<date_time>(boost::json::value("2000-01-01T00:00:00Z")), t);
  EXPECT_EQ(from_json<date_time>(boost::json::value("2000-01-01T01:00:00+01:00")), t);
  date_time frac = t + microseconds(123400);
  EXPECT_EQ(to_json(frac).as_string(), "2000-01-01T00:00:00.1234Z");
  EXPECT_EQ(from_json<date_time>(boost::json::value("2000-01-01T00:00:00.1234567Z")),
            t + microseconds(123456));
  EXPECT_THROW(from_json<date_time>(boost::json::value("yesterday")), binding_error);
}

// C#'s decimal on the wire: a JSON number, a MessagePack string (MessagePack-CSharp reads a
// decimal only from a string).
TEST(ValueCodec, DecimalIsANumberInJsonAndAStringInMessagePack) {
  hubcast::decimal price = hubcast::decimal::from_double(123.456, 2);
  EXPECT_EQ(price.to_string(), "123.46");
  EXPECT_EQ(hubcast::decimal::from_double(-0.049, 2).to_string(), "-0.05");
  EXPECT_EQ(hubcast::decimal::from_double(7, 0).to_string(), "7");
  EXPECT_EQ((hubcast::decimal{5, 3}.to_string()), "0.005");

  auto json = hubcast::to_json(price);
  ASSERT_TRUE(json.is_double());
  EXPECT_DOUBLE_EQ(json.get_double(), 123.46);
  EXPECT_EQ(hubcast::from_json<hubcast::decimal>(json), price);

  std::string buf;
  hubcast::msgpack_writer w(buf);
  hubcast::to_msgpack(w, price);
  auto handle = msgpack::unpack(buf.data(), buf.size());
  ASSERT_EQ(handle.get().type, msgpack::type::STR);
  EXPECT_EQ(view(handle.get()).as_str(), "123.46");
  EXPECT_EQ(hubcast::from_msgpack<hubcast::decimal>(view(handle.get())), price);
}

TEST(ValueCodec, DecimalParsesWhatClientsSendAndRefusesTheRest) {
  using hubcast::decimal;
  EXPECT_EQ(decimal::parse("12.50"), (decimal{125, 1}));
  EXPECT_EQ(decimal::parse("-0.5").to_string(), "-0.5");
  EXPECT_EQ(decimal::parse("0").units, 0);
  EXPECT_EQ(decimal::parse("1e3"), (decimal{1000, 0}));
  EXPECT_EQ(decimal::parse("1.5E-2").to_string(), "0.015");
  EXPECT_EQ(hubcast::from_json<decimal>(boost::json::parse("19.99")).to_string(), "19.99");
  EXPECT_EQ(hubcast::from_json<decimal>(boost::json::parse("42")).to_string(), "42");
  EXPECT_EQ(hubcast::from_json<decimal>(boost::json::parse("\"0.10\"")).to_string(), "0.10");
  for (const char* bad : {"", "-", ".", "abc", "1.2.3", "1e", "12x", "1234567890123456789012"})
    EXPECT_THROW(decimal::parse(bad), hubcast::binding_error) << bad;
  EXPECT_THROW(hubcast::from_json<decimal>(boost::json::parse("true")), hubcast::binding_error);
}

// .NET's Convert.FromBase64String rules: nothing is silently "repaired".
TEST(ValueCodec, Base64IsStrict) {
  EXPECT_EQ(from_json<bytes>(boost::json::value("AQI=")).data, (std::vector<std::uint8_t>{1, 2}));
  EXPECT_EQ(from_json<bytes>(boost::json::value("")).data, std::vector<std::uint8_t>{});
  for (const char* bad :
       {"AQ=", "====", "A===", "AQ", "AQID=", "AQ==AQ==", "AQ-_", "AQ=A", "=AQI", "AQ==="})
    EXPECT_THROW(from_json<bytes>(boost::json::value(bad)), binding_error) << bad;
}

namespace {
msgpack::object_handle timestamp_ext(const std::string& body) {
  std::string frame;
  if (body.size() == 4) frame = "\xd6\xff";
  if (body.size() == 8) frame = "\xd7\xff";
  if (body.size() == 12) frame = std::string("\xc7\x0c\xff", 3);
  frame += body;
  return msgpack::unpack(frame.data(), frame.size());
}
std::string be(std::uint64_t v, int n) {
  std::string out(static_cast<std::size_t>(n), '\0');
  for (int i = n - 1; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = char(v & 0xff);
  return out;
}
}  // namespace

// MessagePack for C# refuses timestamps outside DateTime; we used to overflow sec * 10^6.
TEST(ValueCodec, TimestampsOutsideDateTimeAreBindingErrors) {
  using codec_detail::unpack_date_time;
  auto ok = timestamp_ext(be(0, 4) + be(253402300799ULL, 8));
  EXPECT_EQ(unpack_date_time(view(ok.get())).time_since_epoch().count(), 253402300799LL * 1000000);
  auto earliest = timestamp_ext(be(0, 4) + be(std::uint64_t(-62135596800LL), 8));
  EXPECT_EQ(unpack_date_time(view(earliest.get())).time_since_epoch().count(),
            -62135596800LL * 1000000);
  for (std::uint64_t sec :
       {std::uint64_t(1) << 62, std::uint64_t(1) << 63, std::uint64_t(253402300800ULL),
        std::uint64_t(253402300800000ULL), std::uint64_t(-62135596801LL)}) {
    auto h = timestamp_ext(be(0, 4) + be(sec, 8));
    EXPECT_THROW(unpack_date_time(view(h.get())), binding_error) << sec;
  }
  auto bad_nsec = timestamp_ext(be(1000000000u, 4) + be(0, 8));
  EXPECT_THROW(unpack_date_time(view(bad_nsec.get())), binding_error);
}

TEST(ValueCodec, DatesOutsideDateTimeOrTheCalendarAreBindingErrors) {
  EXPECT_NO_THROW(from_json<date_time>(boost::json::value("0001-01-01T00:00:00Z")));
  EXPECT_NO_THROW(from_json<date_time>(boost::json::value("9999-12-31T23:59:59.9999999Z")));
  EXPECT_NO_THROW(from_json<date_time>(boost::json::value("2024-02-29T00:00:00Z")));
  for (const char* bad : {"0000-01-01T00:00:00Z", "0000-12-31T23:59:59Z", "2023-02-29T00:00:00Z",
                          "2023-04-31T00:00:00Z", "0001-01-01T00:00:00+01:00",
                          "9999-12-31T23:59:59-01:00", "2000-01-01T00:00:00+15:00"})
    EXPECT_THROW(from_json<date_time>(boost::json::value(bad)), binding_error) << bad;
}

// Found by fuzz_json_protocol: binding 3.3e96 to an integer cast it first (undefined).
TEST(ValueCodec, HugeOrNonFiniteNumbersAreBindingErrors) {
  EXPECT_THROW(from_json<std::int64_t>(boost::json::value(3.33333e96)), binding_error);
  EXPECT_THROW(from_json<int>(boost::json::value(-1e19)), binding_error);
  EXPECT_THROW(from_json<std::uint64_t>(boost::json::value(1e30)), binding_error);
  EXPECT_EQ(from_json<std::int64_t>(boost::json::value(-9223372036854775808.0)),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_THROW(from_json<float>(boost::json::value(1e300)), binding_error);
  EXPECT_EQ(from_json<double>(boost::json::value(1e300)), 1e300);
  EXPECT_EQ(from_json<float>(boost::json::value(1.5)), 1.5f);
}

// The public MessagePack reader and writer (what hub code binds through, with no msgpack-cxx
// headers) round-trip every kind through msgpack-cxx's own parser.
TEST(ValueCodec, MsgpackWriterAndViewRoundTripEveryKind) {
  std::string buf;
  hubcast::msgpack_writer w(buf);
  w.write_array_header(11);
  w.write_nil();
  w.write_bool(true);
  w.write_int(-5);
  w.write_uint(std::uint64_t(1) << 63);
  w.write_double(2.5);
  w.write_str("héllo");
  const std::uint8_t raw[] = {0, 1, 255};
  w.write_bin(raw);
  w.write_ext(7, std::string_view("\x01\x02", 2));
  w.write_map_header(1);
  w.write_str("k");
  w.write_int(42);
  w.write_raw("\x92\x01\x02");  // [1, 2], already encoded
  w.write_int(-(std::int64_t(1) << 40));
  auto handle = msgpack::unpack(buf.data(), buf.size());
  auto a = view(handle.get());
  using k = hubcast::msgpack_view::kind;
  ASSERT_EQ(a.type(), k::array);
  ASSERT_EQ(a.size(), 11u);
  EXPECT_TRUE(a.element(0).is_nil());
  EXPECT_TRUE(a.element(1).as_bool());
  EXPECT_EQ(a.element(2).type(), k::negative_integer);
  EXPECT_EQ(a.element(2).as_int(), -5);
  EXPECT_EQ(a.element(3).as_uint(), std::uint64_t(1) << 63);
  EXPECT_EQ(a.element(4).type(), k::float64);
  EXPECT_EQ(a.element(4).as_double(), 2.5);
  EXPECT_EQ(a.element(5).as_str(), "héllo");
  ASSERT_EQ(a.element(6).type(), k::bin);
  EXPECT_EQ(std::vector<std::uint8_t>(a.element(6).as_bin().begin(), a.element(6).as_bin().end()),
            (std::vector<std::uint8_t>{0, 1, 255}));
  EXPECT_EQ(a.element(7).ext_type(), 7);
  EXPECT_EQ(a.element(7).ext_data(), std::string_view("\x01\x02", 2));
  ASSERT_EQ(a.element(8).type(), k::map);
  EXPECT_EQ(a.element(8).key(0).as_str(), "k");
  EXPECT_EQ(a.element(8).value(0).as_uint(), 42u);
  EXPECT_EQ(a.element(9).size(), 2u);
  EXPECT_EQ(a.element(10).as_int(), -(std::int64_t(1) << 40));
  EXPECT_EQ(a.element(5).size(), 0u);  // not a container
  // msgpack-cxx's smallest forms: the writer does not change what went on the wire.
  std::string small;
  hubcast::msgpack_writer(small).write_int(5);
  EXPECT_EQ(small, "\x05");
}

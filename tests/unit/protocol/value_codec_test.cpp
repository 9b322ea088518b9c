#include "protocol/value_codec.hpp"

#include <gtest/gtest.h>

#include <boost/describe/class.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace {
struct price_event {
  std::string symbol;
  double last_price = 0;
  std::optional<int> volume;
  std::vector<std::string> tags;
  std::map<std::string, int> counts;
};
BOOST_DESCRIBE_STRUCT(price_event, (), (symbol, last_price, volume, tags, counts))
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

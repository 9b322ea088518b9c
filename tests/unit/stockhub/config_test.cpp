// stockhub's configuration reader: typed values with ranges, errors that name the key, JSON
// errors with line and column, unknown-key warnings with the closest known key.
#include <gtest/gtest.h>

#include "config.hpp"
#include "settings.hpp"

using namespace stockhub;
using namespace std::chrono_literals;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const configuration_error& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST(Configuration, TypedValuesWithRanges) {
  configuration c;
  c.set("Server:Threads", "4");
  c.set("Stocks:TickInterval", "00:00:00.250");
  c.set("SignalR:EnableDetailedErrors", "True");
  EXPECT_EQ(setting_number(c, "Server:Threads"), 4);
  EXPECT_EQ(setting_duration(c, "Stocks:TickInterval"), 250ms);
  EXPECT_TRUE(setting_flag(c, "SignalR:EnableDetailedErrors"));
  EXPECT_EQ(setting_duration(c, "Auth:AccessTokenLifetime"), 5min) << "the table's default";
  EXPECT_TRUE(setting_flag(c, "SignalR:EnableAuthenticationRefresh")) << "on by default";
  c.set("Server:Threads", "12abc");
  EXPECT_EQ(error_of([&] { setting_number(c, "Server:Threads"); }),
            "Server:Threads: '12abc' is not a whole number");
  c.set("Server:Threads", "257");
  EXPECT_EQ(error_of([&] { setting_number(c, "Server:Threads"); }),
            "Server:Threads: 257 is out of range (0 to 256)");
  c.set("Stocks:TickInterval", "2.00:00:00");
  EXPECT_EQ(error_of([&] { setting_duration(c, "Stocks:TickInterval"); }),
            "Stocks:TickInterval: '2.00:00:00' is too long (at most 1.00:00:00)");
  EXPECT_EQ(error_of([&] { validate_settings(c); }),
            "Server:Threads: 257 is out of range (0 to 256)");
}

TEST(Configuration, FormatsDurationsAsDotNet) {
  EXPECT_EQ(format_duration(10ms), "00:00:00.010");
  EXPECT_EQ(format_duration(90min), "01:30:00");
  EXPECT_EQ(format_duration(std::chrono::hours(49)), "2.01:00:00");
}

TEST(Configuration, JsonErrorsGiveLineAndColumn) {
  configuration c;
  EXPECT_EQ(
      error_of([&] { c.load_json_text("{\n  \"a\": [1, 2,\n  x]\n}", "f.json"); }).substr(0, 12),
      "f.json:3:3: ");
  EXPECT_EQ(error_of([&] { c.load_json_text("[1]", "f.json"); }),
            "f.json: the configuration must be a JSON object ({ ... })");
  EXPECT_EQ(error_of([&] { c.load_json_text("{} {}", "f.json"); }).substr(0, 12), "f.json:1:4: ");
  // Comments and trailing commas, as .NET reads appsettings.json.
  c.load_json_text("{ /* x */ \"Stocks\": { \"Symbols\": [\"A\",], }, // y\n}", "f.json");
  EXPECT_EQ(c.list("stocks:symbols"), std::vector<std::string>{"A"});
}

TEST(Settings, WarnsAboutUnknownKeysOfKnownSections) {
  configuration c;
  c.load_json_text(R"({"Stocks": {"TickIntervall": "1", "Symbols": ["A"]},
                       "signalr": {"keepalive": "1"}, "Kestrel": {"Anything": 1},
                       "Logging": {"LogLevel": {"hubcast.http": "Warning"}}, "Auth": {"Zzzzzzzzz": 1}})",
                   "f.json");
  auto w = unknown_key_warnings(c);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], "unknown configuration key 'Auth:Zzzzzzzzz'");
  EXPECT_EQ(w[1],
            "unknown configuration key 'signalr:keepalive' (did you mean "
            "'SignalR:KeepAliveInterval'?)");
  EXPECT_EQ(w[2],
            "unknown configuration key 'Stocks:TickIntervall' (did you mean "
            "'Stocks:TickInterval'?)");
}

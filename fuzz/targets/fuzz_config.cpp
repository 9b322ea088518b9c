// stockhub's configuration reader: an appsettings.json text, then every getter the app calls on
// it (numbers, flags, durations, lists, sections). Bad values are errors (exceptions), never
// crashes or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  stockhub::configuration cfg;
  try {
    cfg.load_json_text(in, "fuzz.json");
  } catch (const std::runtime_error&) {
    try {
      (void)stockhub::parse_duration(std::string(in.substr(0, 64)));
    } catch (const std::exception&) {
    }
    return 0;
  }
  for (const char* key : {"Stocks:TickInterval", "Auth:AccessTokenLifetime", "Auth:ClockSkew",
                          "SignalR:KeepAliveInterval", "Server:ShutdownTimeout"}) {
    try {
      (void)cfg.duration(key, std::chrono::seconds(1));
    } catch (const std::runtime_error&) {
    }
  }
  for (const char* key :
       {"Server:Threads", "SignalR:MaximumReceiveMessageSize", "SignalR:MaxPendingConnections"}) {
    try {
      (void)cfg.number(key, 0);
    } catch (const std::runtime_error&) {
    }
  }
  for (const char* key : {"SignalR:EnableDetailedErrors", "Metrics:Enabled"}) {
    try {
      (void)cfg.flag(key, false);
    } catch (const std::runtime_error&) {
    }
  }
  (void)cfg.list("Cors:AllowedOrigins");
  (void)cfg.list("Stocks:Symbols");
  (void)cfg.section("Logging:LogLevel");
  (void)cfg.get_or("Urls", "");
  return 0;
}

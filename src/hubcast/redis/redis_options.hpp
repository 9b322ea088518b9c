// The backplane's configuration in StackExchange.Redis's form, as ASP.NET Core takes it
// (AddStackExchangeRedis("host:port,password=…,channelPrefix=…")):
//   host[:port][,host2[:port]…][,password=…][,user=…][,ssl=true|false][,channelPrefix=…]
//   [,connectTimeout=ms][,abortConnect=true|false][,name=…]
// hubcast uses the first endpoint. Unknown options are an error that names them, so a typo is
// not silently ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hubcast::redis {

struct redis_options {
  std::string host = "localhost";
  std::uint16_t port = 6379;
  std::optional<std::string> user;
  std::optional<std::string> password;  // never logged
  bool ssl = false;
  std::string channel_prefix;
  std::chrono::milliseconds connect_timeout{5000};
  bool abort_connect = true;  // accepted for compatibility: hubcast always retries
  std::string client_name;

  // Throws std::invalid_argument with a message that says what is wrong (never the password).
  static redis_options parse(std::string_view configuration);
  // host:port, for logs.
  std::string endpoint() const;
};

}  // namespace hubcast::redis

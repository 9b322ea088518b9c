#include <hubcast/core/ascii.hpp>
#include <hubcast/redis/redis_options.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace hubcast::redis {

namespace {

std::string lower(std::string_view s) {
  return ascii::to_lower(s);
}

bool parse_bool(std::string_view key, std::string_view v) {
  auto l = lower(v);
  if (l == "true") return true;
  if (l == "false") return false;
  throw std::invalid_argument("Redis configuration: " + std::string(key) +
                              " must be true or false");
}

}  // namespace

redis_options redis_options::parse(std::string_view configuration) {
  redis_options o;
  bool have_endpoint = false;
  std::size_t start = 0;
  while (start <= configuration.size()) {
    auto comma = configuration.find(',', start);
    auto part = ascii::trim_ows(configuration.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    start = comma == std::string_view::npos ? configuration.size() + 1 : comma + 1;
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (have_endpoint) continue;  // further endpoints: the first one is used
      have_endpoint = true;
      std::string_view host = part, port;
      if (part.front() == '[') {  // [::1]:6379
        auto close = part.find(']');
        if (close == std::string_view::npos)
          throw std::invalid_argument("Redis configuration: bad endpoint '" + std::string(part) +
                                      "'");
        host = part.substr(1, close - 1);
        if (close + 1 < part.size()) {
          if (part[close + 1] != ':')
            throw std::invalid_argument("Redis configuration: bad endpoint '" + std::string(part) +
                                        "'");
          port = part.substr(close + 2);
        }
      } else if (auto colon = part.rfind(':'); colon != std::string_view::npos) {
        host = part.substr(0, colon);
        port = part.substr(colon + 1);
      }
      if (host.empty())
        throw std::invalid_argument("Redis configuration: an endpoint without a host");
      o.host = std::string(host);
      if (!port.empty()) {
        unsigned v = 0;
        auto r = std::from_chars(port.data(), port.data() + port.size(), v);
        if (r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535)
          throw std::invalid_argument("Redis configuration: '" + std::string(port) +
                                      "' is not a port");
        o.port = static_cast<std::uint16_t>(v);
      }
      continue;
    }
    auto key = ascii::trim_ows(part.substr(0, eq));
    auto value = ascii::trim_ows(part.substr(eq + 1));
    auto k = lower(key);
    if (k == "password") {
      o.password = std::string(value);
    } else if (k == "user") {
      o.user = std::string(value);
    } else if (k == "ssl") {
      o.ssl = parse_bool(key, value);
    } else if (k == "channelprefix") {
      o.channel_prefix = std::string(value);
    } else if (k == "abortconnect") {
      o.abort_connect = parse_bool(key, value);
    } else if (k == "name") {
      o.client_name = std::string(value);
    } else if (k == "connecttimeout") {
      long long ms = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size() || ms <= 0 || ms > 3'600'000)
        throw std::invalid_argument("Redis configuration: connectTimeout '" + std::string(value) +
                                    "' is not a number of milliseconds (1 to 3600000)");
      o.connect_timeout = std::chrono::milliseconds(ms);
    } else {
      throw std::invalid_argument(
          "Redis configuration: unknown option '" + std::string(key) +
          "' (known: password, user, ssl, channelPrefix, connectTimeout, abortConnect, name)");
    }
  }
  if (!have_endpoint) throw std::invalid_argument("Redis configuration: no host:port endpoint");
  if (o.ssl)
    throw std::invalid_argument(
        "Redis configuration: ssl=true is not supported yet (use a TLS tunnel such as stunnel)");
  return o;
}

std::string redis_options::endpoint() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace hubcast::redis

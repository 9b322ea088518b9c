#include "http/cors.hpp"

#include <algorithm>
#include <cctype>

namespace hubcast::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

cors_policy::cors_policy(cors_options options) : options_(std::move(options)) {
  for (const auto& o : options_.allowed_origins) {
    if (o == "*" && options_.allow_credentials) continue;  // ASP.NET refuses this combination
    if (auto n = normalize_origin(o)) allowed_.push_back(*n);
  }
}

std::optional<std::string> cors_policy::normalize_origin(std::string_view origin) {
  std::string o = lower(origin);
  while (!o.empty() && o.back() == '/') o.pop_back();
  bool tls = o.starts_with("https://");
  if (!tls && !o.starts_with("http://")) return std::nullopt;
  std::string_view rest = std::string_view(o).substr(tls ? 8 : 7);
  if (rest.empty() || rest.find_first_of("/?#@ \t") != std::string_view::npos) return std::nullopt;
  for (unsigned char c : rest)
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  std::string host(rest);
  std::string port;
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    host = std::string(rest.substr(0, colon));
    port = std::string(rest.substr(colon + 1));
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    while (port.size() > 1 && port.front() == '0') port.erase(0, 1);
  }
  if (host.empty()) return std::nullopt;
  if ((tls && port == "443") || (!tls && port == "80")) port.clear();
  return std::string(tls ? "https://" : "http://") + host + (port.empty() ? "" : ":" + port);
}

void cors_policy::set_server_urls(const std::vector<std::string>& urls) {
  own_.clear();
  for (const auto& u : urls) {
    auto n = normalize_origin(u);
    if (!n) continue;
    bool tls = n->starts_with("https://");
    std::string_view rest = std::string_view(*n).substr(tls ? 8 : 7);
    std::string port;
    std::string host(rest);
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
      host = std::string(rest.substr(0, colon));
      port = std::string(rest.substr(colon));
    }
    if (host == "0.0.0.0" || host == "[::]" || host == "*" || host == "+") continue;
    std::string scheme = tls ? "https://" : "http://";
    if (host == "127.0.0.1" || host == "localhost" || host == "[::1]") {
      for (const char* h : {"localhost", "127.0.0.1", "[::1]"}) own_.push_back(scheme + h + port);
    } else {
      own_.push_back(scheme + host + port);
    }
  }
}

bool cors_policy::origin_allowed(std::string_view origin) const {
  auto n = normalize_origin(origin);
  if (!n) return false;
  return contains(allowed_, *n) || contains(own_, *n);
}

std::optional<response> cors_policy::before_route(const request& req) const {
  auto origin = req.header("Origin");
  if (options_.check_websocket_origin && req.websocket_upgrade && origin &&
      !origin_allowed(*origin))
    return response(403);
  if (req.method != "OPTIONS") return std::nullopt;
  response r(204);
  // A preflight names a method; a bare OPTIONS without Origin is not CORS at all.
  if (origin && req.header("Access-Control-Request-Method") && origin_allowed(*origin)) {
    r.set("Access-Control-Allow-Origin", std::string(*origin));
    if (options_.allow_credentials) r.set("Access-Control-Allow-Credentials", "true");
    r.set("Access-Control-Allow-Methods", options_.allowed_methods);
    if (auto h = req.header("Access-Control-Request-Headers"))
      r.set("Access-Control-Allow-Headers", std::string(*h));
  }
  r.set("Vary", "Origin");
  return r;
}

void cors_policy::on_response(const request& req, response& res) const {
  auto origin = req.header("Origin");
  if (!origin) return;
  res.set("Vary", "Origin");
  if (!origin_allowed(*origin)) return;
  res.set("Access-Control-Allow-Origin", std::string(*origin));
  if (options_.allow_credentials) res.set("Access-Control-Allow-Credentials", "true");
}

}  // namespace hubcast::http

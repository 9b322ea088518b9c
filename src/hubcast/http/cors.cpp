#include <hubcast/core/ascii.hpp>
#include <hubcast/http/cors.hpp>

#include <algorithm>
#include <cctype>

namespace hubcast::http {

namespace {

std::string lower(std::string_view s) {
  return ascii::to_lower(s);
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

namespace {

// An http(s) origin in parts: lower-cased host, port without leading zeros ("" for the
// scheme's default), or nullopt when it is not an origin (path, user info, bad port...).
struct origin_parts {
  bool tls = false;
  std::string host;
  std::string port;
  std::string text() const {
    return std::string(tls ? "https://" : "http://") + host + (port.empty() ? "" : ":" + port);
  }
};

std::optional<origin_parts> parse_origin(std::string_view origin) {
  std::string o = lower(origin);
  while (!o.empty() && o.back() == '/') o.pop_back();
  origin_parts p;
  p.tls = o.starts_with("https://");
  if (!p.tls && !o.starts_with("http://")) return std::nullopt;
  std::string_view rest = std::string_view(o).substr(p.tls ? 8 : 7);
  if (rest.empty() || rest.find_first_of("/?#@ \t") != std::string_view::npos) return std::nullopt;
  for (unsigned char c : rest)
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  p.host = std::string(rest);
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    p.host = std::string(rest.substr(0, colon));
    p.port = std::string(rest.substr(colon + 1));
    if (p.port.empty() || p.port.size() > 5 ||
        !std::all_of(p.port.begin(), p.port.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    while (p.port.size() > 1 && p.port.front() == '0') p.port.erase(0, 1);
  }
  if (p.host.empty()) return std::nullopt;
  if ((p.tls && p.port == "443") || (!p.tls && p.port == "80")) p.port.clear();
  return p;
}

}  // namespace

std::optional<std::string> cors_policy::normalize_origin(std::string_view origin) {
  auto p = parse_origin(origin);
  if (!p) return std::nullopt;
  return p->text();
}

void cors_policy::set_server_urls(const std::vector<std::string>& urls) {
  own_.clear();
  for (const auto& u : urls) {
    auto p = parse_origin(u);
    if (!p || p->host == "0.0.0.0" || p->host == "[::]" || p->host == "*" || p->host == "+")
      continue;
    if (p->host == "127.0.0.1" || p->host == "localhost" || p->host == "[::1]") {
      for (const char* h : {"localhost", "127.0.0.1", "[::1]"}) {
        p->host = h;
        own_.push_back(p->text());
      }
    } else {
      own_.push_back(p->text());
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

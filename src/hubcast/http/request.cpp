#include <hubcast/http/request.hpp>

#include <cctype>

namespace hubcast::http {

std::string percent_decode(std::string_view s, bool plus_as_space) {
  auto hexval = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int h = hexval(s[i + 1]);
      int l = hexval(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out += static_cast<char>(h * 16 + l);
        i += 2;
        continue;
      }
    }
    out += (plus_as_space && c == '+') ? ' ' : c;
  }
  return out;
}

namespace {

// Calls f(raw key, raw value) for each `&`-separated parameter of a query string (value empty
// without '='), until f returns false.
template <class F>
void for_each_param(std::string_view q, F f) {
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = part.find('=');
    auto value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (!f(part.substr(0, eq), value)) return;
  }
}

}  // namespace

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

std::size_t request::header_count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& h : headers) n += iequals(h.name, name) ? 1 : 0;
  return n;
}

std::size_t request::query_param_count(std::string_view name) const {
  std::size_t n = 0;
  for_each_param(query, [&](std::string_view key, std::string_view) {
    n += iequals(percent_decode(key, true), name) ? 1 : 0;
    return true;
  });
  return n;
}

std::optional<std::string> request::query_param(std::string_view name) const {
  std::optional<std::string> found;
  for_each_param(query, [&](std::string_view key, std::string_view value) {
    if (!iequals(percent_decode(key, true), name)) return true;
    found = percent_decode(value, true);
    return false;
  });
  return found;
}

std::optional<std::string> request::cookie(std::string_view name) const {
  for (const auto& h : headers) {
    if (!iequals(h.name, "cookie")) continue;
    std::string_view c = h.value;
    while (!c.empty()) {
      auto semi = c.find(';');
      auto part = c.substr(0, semi);
      c = semi == std::string_view::npos ? std::string_view{} : c.substr(semi + 1);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      auto eq = part.find('=');
      if (eq == std::string_view::npos) continue;
      if (part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
    }
  }
  return std::nullopt;
}

response::response(int s, std::string b, std::string content_type) : status(s), body(std::move(b)) {
  if (!content_type.empty()) headers.push_back({"Content-Type", std::move(content_type)});
}

response& response::set(std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return *this;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
  return *this;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

std::string redact_target(std::string_view target) {
  auto qpos = target.find('?');
  if (qpos == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, qpos + 1));
  std::string_view q = target.substr(qpos + 1);
  bool first = true;
  while (!q.empty() || first) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (!first) out += '&';
    first = false;
    auto eq = part.find('=');
    auto key = part.substr(0, eq);
    // Keys compared as the server reads them (percent-decoded, any case): `access%5Ftoken`
    // is the access token too.
    auto name = percent_decode(key, true);
    if (eq != std::string_view::npos &&
        (iequals(name, "access_token") || iequals(name, "id") || iequals(name, "token"))) {
      out.append(key);
      out += "=[redacted]";
    } else {
      out.append(part);
    }
    if (amp == std::string_view::npos) break;
  }
  return out;
}

}  // namespace hubcast::http

#include "account_requests.hpp"

#include <cctype>

#include <boost/json/parse.hpp>

#include <hubcast/http/request.hpp>
#include <hubcast/protocol/json_parse.hpp>

namespace stockhub {

namespace {

std::optional<boost::json::object> json_object(std::string_view body) {
  boost::system::error_code ec;
  boost::json::parse_options limits;
  limits.max_depth = 16;  // the bodies are flat objects
  auto v = hubcast::protocol::parse_json(body, ec, limits);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::string> string_member(const boost::json::object& o, const char* name,
                                         std::size_t max) {
  auto p = o.if_contains(name);
  if (!p || !p->is_string() || p->get_string().size() > max) return std::nullopt;
  return std::string(p->get_string());
}

}  // namespace

std::string normalize_email(std::string_view e) {
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.front()))) e.remove_prefix(1);
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.back()))) e.remove_suffix(1);
  std::string out;
  out.reserve(e.size());
  for (char c : e) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_email(std::string_view normalized) {
  if (normalized.size() < 3 || normalized.size() > 254) return false;
  auto at = normalized.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == normalized.size() ||
      normalized.find('@', at + 1) != std::string_view::npos)
    return false;
  // Printable ASCII only: one spelling per account (no Unicode case folding to get wrong).
  for (unsigned char c : normalized)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

bool is_json_content_type(std::string_view t) {
  auto media = t.substr(0, t.find(';'));
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return hubcast::http::iequals(media, "application/json");
}

std::optional<login_request> parse_login_body(std::string_view body) {
  auto o = json_object(body);
  if (!o) return std::nullopt;
  auto email = string_member(*o, "email", 254);
  auto password = string_member(*o, "password", 1024);
  if (!email || !password) return std::nullopt;
  return login_request{normalize_email(*email), std::move(*password)};
}

std::optional<std::string> parse_refresh_body(std::string_view body) {
  auto o = json_object(body);
  if (!o) return std::nullopt;
  return string_member(*o, "refreshToken", 1024);
}

}  // namespace stockhub

// The bodies and headers stockhub's account endpoints accept, as pure functions (no I/O; fuzzed
// by fuzz_login_body): JSON objects sent as application/json, e-mail addresses in one spelling.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stockhub {

// One spelling per e-mail address, for lookup, storage, lockout counters and tokens: trimmed,
// ASCII letters lower-cased.
std::string normalize_email(std::string_view email);
// A normalized address the store accepts: printable ASCII, one '@' with text on both sides.
bool valid_email(std::string_view normalized);

// True for "application/json", with parameters (charset) and any letter case.
bool is_json_content_type(std::string_view content_type);

struct login_request {
  std::string email;  // normalized
  std::string password;
};
// {"email": "...", "password": "..."} (other members ignored); nullopt when malformed, when a
// member is missing or not a string, or past 254 / 1024 characters.
std::optional<login_request> parse_login_body(std::string_view body);
// {"refreshToken": "..."}; nullopt when malformed or past 1024 characters.
std::optional<std::string> parse_refresh_body(std::string_view body);

}  // namespace stockhub

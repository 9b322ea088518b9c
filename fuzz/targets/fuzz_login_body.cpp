// stockhub's /api/login, /api/refresh and /api/logout inputs: the JSON bodies, the Content-Type
// check and e-mail normalization. Invariants: a parsed login's e-mail is normalized (normalizing
// again changes nothing) and within 254 characters.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "account_requests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)stockhub::is_json_content_type(in.substr(0, 80));
  if (auto login = stockhub::parse_login_body(in)) {
    if (stockhub::normalize_email(login->email) != login->email) __builtin_trap();
    if (login->email.size() > 254 || login->password.size() > 1024) __builtin_trap();
    (void)stockhub::valid_email(login->email);
  }
  (void)stockhub::parse_refresh_body(in);
  auto n = stockhub::normalize_email(in.substr(0, 300));
  if (stockhub::normalize_email(n) != n) __builtin_trap();
  return 0;
}

// Negotiate, query-string and URL handling: the request target split as the server splits it,
// query parameters (id, access_token, negotiateVersion, useStatefulReconnect), cookies, token
// redaction for logs, hub path prefixes, CORS origins. Invariant checked: a redacted target
// never keeps an access_token value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <hubcast/auth/bearer.hpp>
#include <hubcast/http/cors.hpp>
#include <hubcast/http/request.hpp>
#include <hubcast/http/request_head.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  hubcast::http::request r;
  r.target = std::string(in.substr(0, in.find('\n')));
  std::string_view t = r.target;
  auto q = t.find('?');
  r.path = hubcast::http::percent_decode(t.substr(0, q), false);
  if (q != std::string_view::npos) r.query = std::string(t.substr(q + 1));
  r.headers.push_back({"Cookie", std::string(in)});
  r.headers.push_back({"Origin", std::string(in.substr(0, 64))});
  (void)hubcast::http::has_control_characters(r.path);
  for (const char* name : {"id", "access_token", "negotiateVersion", "useStatefulReconnect"}) {
    (void)r.query_param(name);
    (void)r.query_param_count(name);
  }
  (void)r.cookie("testCookie");
  (void)hubcast::auth::bearer_authenticator::starts_with_segments(r.path, "/hubs");
  // Every parameter the server would read as a token (keys percent-decoded, any case) is
  // redacted in what goes to the log.
  auto redacted = hubcast::http::redact_target(r.target);
  auto rq = redacted.find('?');
  std::string_view rest =
      rq == std::string::npos ? std::string_view{} : std::string_view(redacted).substr(rq + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = hubcast::http::percent_decode(part.substr(0, eq), true);
    for (const char* secret : {"access_token", "id", "token"})
      if (hubcast::http::iequals(key, secret) && part.substr(eq + 1) != "[redacted]") std::abort();
  }
  (void)hubcast::http::cors_policy::normalize_origin(in.substr(0, 64));
  hubcast::http::cors_policy cors({.allowed_origins = {"https://app.example.com"}});
  cors.set_server_urls({"http://127.0.0.1:5000", std::string(in.substr(0, 32))});
  (void)cors.origin_allowed(in);
  return 0;
}

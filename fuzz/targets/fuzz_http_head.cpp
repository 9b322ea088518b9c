// An HTTP/1.1 request head as hubcast's server reads it: the byte checks of request_head.hpp,
// then Beast's request parser with the server's limits (32 KB head, 1 MB body), then the
// request value the handlers see (path decoding, control characters, header lookups).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>

#include <hubcast/http/forwarded_headers.hpp>
#include <hubcast/http/request.hpp>
#include <hubcast/http/request_head.hpp>

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t max_head = 32 * 1024;
  auto verdict = hubcast::http::check_request_head(bytes, max_head);
  if (verdict != hubcast::http::head_verdict::ok) return 0;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(max_head));
  parser.body_limit(1024 * 1024);
  // As the server reads: the head first (its fields copied), then the body. Beast adds chunked
  // trailer fields to the same container; the server leaves them out of the headers.
  boost::system::error_code ec;
  std::size_t used = 0;
  std::vector<hubcast::http::header_field> header_fields;
  bool header_counted = false;
  while (used < bytes.size() && !parser.is_done()) {
    auto n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (!header_counted && parser.is_header_done()) {
      header_counted = true;
      for (const auto& f : parser.get())
        header_fields.push_back({std::string(f.name_string()), std::string(f.value())});
      parser.eager(true);
    }
    if (ec == bhttp::error::need_more) {
      ec = {};
      if (n == 0) break;
      continue;
    }
    if (ec) return 0;
  }
  if (!parser.is_header_done()) return 0;
  const auto& m = parser.get();
  hubcast::http::request r;
  r.method = std::string(m.method_string());
  r.target = std::string(m.target());
  std::string_view t = r.target;
  auto q = t.find('?');
  r.path = hubcast::http::percent_decode(t.substr(0, q), false);
  if (q != std::string_view::npos) r.query = std::string(t.substr(q + 1));
  r.headers = std::move(header_fields);
  (void)hubcast::http::has_control_characters(r.path);
  (void)r.header("Host");
  (void)r.header_count("Authorization");
  (void)r.query_param("id");
  (void)hubcast::http::redact_target(r.target);
  // Behind a trusted proxy: the client's address from X-Forwarded-For, or the peer's.
  static const hubcast::http::forwarded_headers proxies({"127.0.0.1"});
  auto client = proxies.client_address(r, "127.0.0.1");
  if (client.empty()) __builtin_trap();
  // What the byte check let through has one Host on HTTP/1.1.
  if (m.version() == 11 && r.header_count("Host") != 1) __builtin_trap();
  return 0;
}

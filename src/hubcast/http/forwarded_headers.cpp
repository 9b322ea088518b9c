#include <hubcast/http/forwarded_headers.hpp>

#include <stdexcept>

#include <hubcast/core/ascii.hpp>

namespace hubcast::http {

namespace asio = boost::asio;

namespace {

// An IPv4 address seen through a dual-stack socket (::ffff:a.b.c.d) is that IPv4 address.
asio::ip::address normalized(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

bool parse(std::string_view text, asio::ip::address& out) {
  text = ascii::trim_ows(text);
  // "[::1]" as some proxies write IPv6; no ports (nginx writes none).
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 64) return false;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(std::string(text), ec);
  if (ec) return false;
  out = normalized(a);
  return true;
}

}  // namespace

forwarded_headers::forwarded_headers(const std::vector<std::string>& known_proxies) {
  for (const auto& p : known_proxies) {
    asio::ip::address a;
    if (!parse(p, a)) throw std::invalid_argument("'" + p + "' is not an IP address");
    known_.push_back(a);
  }
}

std::string forwarded_headers::client_address(const request& r, std::string_view peer) const {
  if (known_.empty()) return std::string(peer);
  asio::ip::address from;
  if (!parse(peer, from)) return std::string(peer);
  bool trusted = false;
  for (const auto& k : known_) trusted = trusted || k == from;
  if (!trusted) return std::string(peer);
  // The last X-Forwarded-For line, its last entry: what the trusted proxy itself saw.
  std::string_view value;
  for (const auto& h : r.headers)
    if (iequals(h.name, "X-Forwarded-For")) value = h.value;
  if (value.empty()) return std::string(peer);
  auto comma = value.rfind(',');
  auto last = comma == std::string_view::npos ? value : value.substr(comma + 1);
  asio::ip::address client;
  if (!parse(last, client)) return std::string(peer);
  return client.to_string();
}

}  // namespace hubcast::http

// UseForwardedHeaders with KnownProxies: behind a trusted reverse proxy, the client's address
// is the last entry of X-Forwarded-For (ForwardLimit 1, as ASP.NET Core's default), not the
// proxy's. From any other peer the header is ignored: a client cannot choose its own address.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include <hubcast/http/request.hpp>

namespace hubcast::http {

class forwarded_headers {
 public:
  forwarded_headers() = default;
  // Throws std::invalid_argument naming the first entry that is not an IP address.
  explicit forwarded_headers(const std::vector<std::string>& known_proxies);

  bool empty() const { return known_.empty(); }
  // The address to treat as the client's for a request `r` that came from `peer`.
  std::string client_address(const request& r, std::string_view peer) const;

 private:
  std::vector<boost::asio::ip::address> known_;
};

}  // namespace hubcast::http

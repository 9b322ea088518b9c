// Case-insensitive path router: exact routes first, then the longest matching prefix.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/http/exchange.hpp>

namespace hubcast::http {

using handler = std::function<boost::asio::awaitable<void>(exchange&)>;

class router {
 public:
  void add_exact(std::string path, handler h);
  void add_prefix(std::string prefix, handler h);
  // nullptr when nothing matches. `pattern`, when given, is set to the route that matched (an
  // exact route's path; a prefix route's prefix followed by "{**path}"), empty when none did.
  const handler* match(std::string_view path, std::string_view* pattern = nullptr) const;

 private:
  struct route {
    std::string path;
    bool prefix;
    handler h;
    std::string pattern;
  };
  std::vector<route> routes_;
};

}  // namespace hubcast::http

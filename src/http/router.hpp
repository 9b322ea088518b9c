// Case-insensitive path router: exact routes first, then the longest matching prefix.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/exchange.hpp"

namespace hubcast::http {

using handler = std::function<boost::asio::awaitable<void>(exchange&)>;

class router {
 public:
  void add_exact(std::string path, handler h);
  void add_prefix(std::string prefix, handler h);
  // nullptr when nothing matches.
  const handler* match(std::string_view path) const;

 private:
  struct route {
    std::string path;
    bool prefix;
    handler h;
  };
  std::vector<route> routes_;
};

}  // namespace hubcast::http

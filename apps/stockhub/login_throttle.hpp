// Failed-login throttle: within a window (5 minutes), 5 failures per account or 50 per client
// address lock that key until the window ends (429). Keys are "account:<normalized email>" and
// "address:<ip>". Memory is bounded: past `capacity` keys, the least recently failed key that is
// not locked goes first, so spraying made-up addresses cannot reset the locks of the accounts
// under attack. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace stockhub {

class login_throttle {
 public:
  using clock = std::chrono::steady_clock;
  struct options {
    int account_limit = 5;
    int address_limit = 50;
    std::chrono::seconds window{300};
    std::size_t capacity = 100000;
    std::function<clock::time_point()> now = [] { return clock::now(); };
  };
  login_throttle();
  explicit login_throttle(options o);

  bool blocked(const std::string& key) { return blocked_for(key).count() > 0; }
  // How long `key` stays locked (0: not locked), rounded up to a whole second (Retry-After).
  std::chrono::seconds blocked_for(const std::string& key);
  void fail(const std::string& key);
  void reset(const std::string& key);
  std::size_t size();

 private:
  struct entry {
    clock::time_point first;
    int failures = 0;
    bool locked = false;
    std::list<std::string>::iterator pos;
  };
  options options_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  // Least recently failed first; locked keys kept apart so they are evicted last.
  std::list<std::string> counting_;
  std::list<std::string> locked_;

  int limit_for(const std::string& key) const;
  void erase(std::unordered_map<std::string, entry>::iterator it);
  void evict_one();
};

}  // namespace stockhub

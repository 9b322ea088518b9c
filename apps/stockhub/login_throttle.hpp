// Failed-login throttle: within a window (5 minutes), 5 failures per account or 50 per client
// address lock that key until the window ends (429). Keys are "account:<normalized email>" and
// "address:<ip>". Memory is bounded: past `capacity` keys, the least recently failed key that is
// not locked goes first, so spraying made-up addresses cannot reset the locks of the accounts
// under attack. An attempt counts when it arrives (try_reserve), before its password is checked:
// a burst of concurrent logins gets exactly the limit of verdicts, the rest 429. Thread-safe.
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
  // Attempts in flight count: a key whose failures and attempts reach the limit is locked.
  std::chrono::seconds blocked_for(const std::string& key);
  // Counts an attempt for `key` now, unless it is locked: then how long (as blocked_for) and
  // nothing is counted. An attempt reserved ends with fail() or release().
  std::chrono::seconds try_reserve(const std::string& key);
  // The attempt failed: a failure (the reservation, if any, becomes it).
  void fail(const std::string& key);
  // The attempt succeeded: its reservation is given back, failures stay.
  void release(const std::string& key);
  void reset(const std::string& key);
  std::size_t size();

 private:
  struct entry {
    clock::time_point first;
    int failures = 0;
    int in_flight = 0;  // attempts reserved, not yet failed or released
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
  std::chrono::seconds wait_of(const std::string& key, const entry& e, clock::time_point now) const;
  // The live entry for `key` (an expired one is dropped first), created if `create`.
  std::unordered_map<std::string, entry>::iterator live(const std::string& key, bool create,
                                                        clock::time_point now);
  void place(entry& e);
  void erase(std::unordered_map<std::string, entry>::iterator it);
  void evict_one();
};

}  // namespace stockhub

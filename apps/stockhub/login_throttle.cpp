#include "login_throttle.hpp"

#include <algorithm>

namespace stockhub {

login_throttle::login_throttle() : login_throttle(options{}) {}
login_throttle::login_throttle(options o) : options_(std::move(o)) {}

int login_throttle::limit_for(const std::string& key) const {
  return key.rfind("address:", 0) == 0 ? options_.address_limit : options_.account_limit;
}

void login_throttle::erase(std::unordered_map<std::string, entry>::iterator it) {
  (it->second.locked ? locked_ : counting_).erase(it->second.pos);
  entries_.erase(it);
}

void login_throttle::evict_one() {
  // Expired keys first (oldest of each list), then the least recently failed unlocked key; a
  // locked key only when every key is locked.
  auto now = options_.now();
  for (auto* list : {&counting_, &locked_}) {
    if (list->empty()) continue;
    auto it = entries_.find(list->front());
    if (now - it->second.first > options_.window) {
      erase(it);
      return;
    }
  }
  auto& victims = counting_.empty() ? locked_ : counting_;
  if (!victims.empty()) erase(entries_.find(victims.front()));
}

std::chrono::seconds login_throttle::wait_of(const std::string& key, const entry& e,
                                             clock::time_point now) const {
  if (e.failures + e.in_flight < limit_for(key)) return std::chrono::seconds(0);
  // Locked by attempts still being checked: they may yet succeed; come back in a second.
  if (e.failures < limit_for(key)) return std::chrono::seconds(1);
  auto left = std::chrono::ceil<std::chrono::seconds>(e.first + options_.window - now);
  return std::max(left, std::chrono::seconds(1));
}

std::unordered_map<std::string, login_throttle::entry>::iterator login_throttle::live(
    const std::string& key, bool create, clock::time_point now) {
  auto it = entries_.find(key);
  if (it != entries_.end() && now - it->second.first > options_.window) {
    erase(it);
    it = entries_.end();
  }
  if (it == entries_.end() && create) {
    while (entries_.size() >= options_.capacity && !entries_.empty()) evict_one();
    counting_.push_back(key);
    it = entries_.emplace(key, entry{now, 0, 0, false, std::prev(counting_.end())}).first;
  }
  return it;
}

// Most recently used goes last in its list; locked keys in the other list.
void login_throttle::place(entry& e) {
  bool now_locked = e.failures >= limit_for(*e.pos);
  auto& from = e.locked ? locked_ : counting_;
  auto& to = now_locked ? locked_ : counting_;
  to.splice(to.end(), from, e.pos);
  e.locked = now_locked;
}

std::chrono::seconds login_throttle::blocked_for(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto now = options_.now();
  auto it = live(key, false, now);
  if (it == entries_.end()) return std::chrono::seconds(0);
  return wait_of(key, it->second, now);
}

std::chrono::seconds login_throttle::try_reserve(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto now = options_.now();
  auto it = live(key, true, now);
  if (auto wait = wait_of(key, it->second, now); wait.count() > 0) return wait;
  ++it->second.in_flight;
  place(it->second);
  return std::chrono::seconds(0);
}

void login_throttle::fail(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = live(key, true, options_.now());
  auto& e = it->second;
  if (e.in_flight > 0) --e.in_flight;
  e.failures++;
  place(e);
}

void login_throttle::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (it->second.in_flight > 0) --it->second.in_flight;
  if (it->second.failures == 0 && it->second.in_flight == 0) erase(it);
}

void login_throttle::reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) erase(it);
}

std::size_t login_throttle::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace stockhub

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

std::chrono::seconds login_throttle::blocked_for(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::chrono::seconds(0);
  auto now = options_.now();
  if (now - it->second.first > options_.window) {
    erase(it);
    return std::chrono::seconds(0);
  }
  if (it->second.failures < limit_for(key)) return std::chrono::seconds(0);
  auto left = std::chrono::ceil<std::chrono::seconds>(it->second.first + options_.window - now);
  return std::max(left, std::chrono::seconds(1));
}

void login_throttle::fail(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto now = options_.now();
  auto it = entries_.find(key);
  if (it != entries_.end() && now - it->second.first > options_.window) {
    erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    while (entries_.size() >= options_.capacity && !entries_.empty()) evict_one();
    counting_.push_back(key);
    it = entries_.emplace(key, entry{now, 0, false, std::prev(counting_.end())}).first;
  }
  auto& e = it->second;
  e.failures++;
  bool now_locked = e.failures >= limit_for(key);
  // Most recently failed goes last in its list.
  auto& from = e.locked ? locked_ : counting_;
  auto& to = now_locked ? locked_ : counting_;
  to.splice(to.end(), from, e.pos);
  e.locked = now_locked;
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

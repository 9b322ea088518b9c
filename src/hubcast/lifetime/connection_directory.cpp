#include <hubcast/lifetime/connection_directory.hpp>

#include <algorithm>

namespace hubcast::lifetime {

namespace {

void add_to_plan(connection_directory::plan& p, std::uint32_t shard, const std::string& item) {
  auto it = std::find_if(p.begin(), p.end(), [&](const auto& e) { return e.first == shard; });
  if (it == p.end()) {
    p.push_back({shard, {}});
    it = p.end() - 1;
  }
  if (std::find(it->second.begin(), it->second.end(), item) == it->second.end())
    it->second.push_back(item);
}

void sort_plan(connection_directory::plan& p) {
  std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace

void connection_directory::add(std::string_view connection_id,
                               const std::optional<std::string>& user, std::uint32_t shard) {
  std::lock_guard lock(mutex_);
  connections_[connection_id] = shard;
  if (!user) return;
  auto& shards = users_[*user];
  for (auto& [s, n] : shards)
    if (s == shard) {
      ++n;
      return;
    }
  shards.push_back({shard, 1});
}

void connection_directory::remove(std::string_view connection_id,
                                  const std::optional<std::string>& user, std::uint32_t shard) {
  std::lock_guard lock(mutex_);
  auto c = connections_.find(connection_id);
  if (c == connections_.end() || c->second != shard) return;  // not (or no longer) registered
  connections_.erase(c);
  if (!user) return;
  auto u = users_.find(*user);
  if (u == users_.end()) return;
  auto& shards = u->second;
  for (auto it = shards.begin(); it != shards.end(); ++it) {
    if (it->first != shard) continue;
    if (--it->second == 0) shards.erase(it);
    break;
  }
  if (shards.empty()) users_.erase(u);
}

std::optional<std::uint32_t> connection_directory::shard_of(std::string_view connection_id) const {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(connection_id);
  if (it == connections_.end()) return std::nullopt;
  return it->second;
}

connection_directory::plan connection_directory::plan_connections(
    const std::vector<std::string>& ids) const {
  plan p;
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : ids) {
      auto it = connections_.find(id);
      if (it != connections_.end()) add_to_plan(p, it->second, id);
    }
  }
  sort_plan(p);
  return p;
}

connection_directory::plan connection_directory::plan_users(
    const std::vector<std::string>& users) const {
  plan p;
  {
    std::lock_guard lock(mutex_);
    for (const auto& u : users) {
      auto it = users_.find(u);
      if (it == users_.end()) continue;
      for (const auto& [shard, n] : it->second) add_to_plan(p, shard, u);
    }
  }
  sort_plan(p);
  return p;
}

std::size_t connection_directory::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

}  // namespace hubcast::lifetime

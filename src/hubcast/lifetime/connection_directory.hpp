// Which shard owns a connection, and which shards hold a user's connections: lets a send to one
// connection or user, a group change and a client-result call go to the shards that matter
// (one hop) instead of to every shard. Thread-safe; written on connect and disconnect, read by
// senders on any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hubcast::lifetime {

class connection_directory {
 public:
  // `connection_id` must stay alive (unchanged) until remove(): the directory keeps a view.
  void add(std::string_view connection_id, const std::optional<std::string>& user,
           std::uint32_t shard);
  void remove(std::string_view connection_id, const std::optional<std::string>& user,
              std::uint32_t shard);

  std::optional<std::uint32_t> shard_of(std::string_view connection_id) const;

  // The shards to visit for `ids` (connections) or `users`, each with the items it owns, in
  // shard order. Unknown items are left out.
  using plan = std::vector<std::pair<std::uint32_t, std::vector<std::string>>>;
  plan plan_connections(const std::vector<std::string>& ids) const;
  plan plan_users(const std::vector<std::string>& users) const;

  std::size_t connection_count() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string_view, std::uint32_t> connections_;
  // Per user: (shard, connections of the user on it).
  std::unordered_map<std::string, std::vector<std::pair<std::uint32_t, std::uint32_t>>> users_;
};

}  // namespace hubcast::lifetime

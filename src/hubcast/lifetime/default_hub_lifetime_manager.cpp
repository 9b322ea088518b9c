#include <hubcast/lifetime/default_hub_lifetime_manager.hpp>

#include <algorithm>
#include <chrono>

#include <hubcast/core/shards.hpp>
#include <hubcast/session/hub_connection.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast::lifetime {

namespace asio = boost::asio;
using session::hub_connection;

namespace {
// One shard's delivery of one message, timed into hubcast_fanout_duration_seconds.
template <class Deliver>
void timed_fanout(Deliver&& deliver) {
  const auto start = std::chrono::steady_clock::now();
  deliver();
  metrics::fanout_duration().observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
void erase_value(std::vector<hub_connection*>& v, hub_connection* c) {
  auto it = std::find(v.begin(), v.end(), c);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
}
}  // namespace

default_hub_lifetime_manager::default_hub_lifetime_manager(shard_pool& shards,
                                                           const hub_options& options)
    : shards_(shards), options_(options) {
  for (std::size_t i = 0; i < shards.size(); ++i) state_.push_back(std::make_unique<shard_state>());
  for (auto& p : protocols_in_use_) p = 0;
}

default_hub_lifetime_manager::~default_hub_lifetime_manager() = default;

template <class F>
void default_hub_lifetime_manager::for_each_shard(F f) {
  for (std::size_t i = 0; i < state_.size(); ++i) {
    asio::dispatch(shards_.executor(i), [this, i, f]() mutable { f(*state_[i]); });
  }
}

template <class F>
void default_hub_lifetime_manager::on_shard(std::uint32_t shard, F f) {
  asio::dispatch(shards_.executor(shard), [this, shard, f]() mutable { f(*state_[shard]); });
}

asio::awaitable<void> default_hub_lifetime_manager::on_connected(hub_connection* c) {
  auto& s = *state_[c->shard()];
  const auto& user = c->user_identifier();
  directory_.add(c->connection_id(), user, static_cast<std::uint32_t>(c->shard()));
  c->set_shard_slot(s.all.size());
  s.all.push_back(c);
  s.by_id[c->connection_id()] = c;
  if (user) s.users[*user].push_back(c);
  protocols_in_use_[static_cast<std::size_t>(c->protocol()->id())]++;
  count_++;
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::on_disconnected(hub_connection* c) {
  auto& s = *state_[c->shard()];
  const auto& user = c->user_identifier();
  const std::size_t slot = c->shard_slot();
  if (slot < s.all.size() && s.all[slot] == c) {
    auto last = s.all.back();
    s.all[slot] = last;
    last->set_shard_slot(slot);
    s.all.pop_back();
    c->set_shard_slot(hub_connection::no_slot);
    protocols_in_use_[static_cast<std::size_t>(c->protocol()->id())]--;
    count_--;
    directory_.remove(c->connection_id(), user, static_cast<std::uint32_t>(c->shard()));
  }
  s.by_id.erase(c->connection_id());
  // No invocation can reach it from now on (they look it up on this shard): the pending ones fail.
  results_.fail_connection(c->connection_id(), client_results_manager::disconnected);
  if (user) {
    auto it = s.users.find(*user);
    if (it != s.users.end()) {
      erase_value(it->second, c);
      if (it->second.empty()) s.users.erase(it);
    }
  }
  auto groups = c->groups();  // a copy: leaving changes the list
  for (const auto& g : groups) remove_from_group_local(s, c, g);
  co_return;
}

message_ptr default_hub_lifetime_manager::serialize(const outgoing& m, bool all_protocols) const {
  auto out = std::make_shared<protocol::serialized_message>(m.target, m.args);
  for (std::size_t p = 0; p < protocol::protocol_count; ++p) {
    if (!all_protocols && protocols_in_use_[p].load(std::memory_order_relaxed) <= 0 && p != 0)
      continue;
    auto id = static_cast<protocol::protocol_id>(p);
    auto& proto = protocol::protocol_by_id(id);
    if (proto.id() != id) continue;  // protocol not compiled in
    std::string bytes;
    proto.write_invocation(bytes, m.target, m.args, std::nullopt, options_.encoding);
    out->set(id, std::make_shared<const std::string>(std::move(bytes)));
  }
  return out;
}

void default_hub_lifetime_manager::deliver_all(message_ptr msg, std::vector<std::string> excluded) {
  if (excluded.empty()) {
    for_each_shard([msg](shard_state& s) {
      timed_fanout([&] {
        for (std::size_t k = 0; k < s.all.size(); ++k) s.all[k]->send(*msg);
      });
    });
  } else {
    auto ex = std::make_shared<const std::vector<std::string>>(std::move(excluded));
    for_each_shard([msg, ex](shard_state& s) {
      timed_fanout([&] {
        for (std::size_t k = 0; k < s.all.size(); ++k)
          if (!contains(*ex, s.all[k]->connection_id())) s.all[k]->send(*msg);
      });
    });
  }
}

void default_hub_lifetime_manager::deliver_connections(std::vector<std::string> ids,
                                                       message_ptr msg) {
  auto plan = directory_.plan_connections(ids);
  for (auto& [shard, list] : plan) {
    on_shard(shard, [msg, list = std::move(list)](shard_state& s) {
      for (const auto& id : list) {
        auto it = s.by_id.find(id);
        if (it != s.by_id.end()) it->second->send(*msg);
      }
    });
  }
}

void default_hub_lifetime_manager::deliver_group(const std::string& group, message_ptr msg,
                                                 std::vector<std::string> excluded) {
  auto ex = std::make_shared<const std::vector<std::string>>(std::move(excluded));
  for_each_shard([msg, ex, group](shard_state& s) {
    auto it = s.groups.find(group);
    if (it == s.groups.end()) return;
    timed_fanout([&] {
      for (auto* c : it->second)
        if (ex->empty() || !contains(*ex, c->connection_id())) c->send(*msg);
    });
  });
}

void default_hub_lifetime_manager::deliver_groups(std::vector<std::string> groups,
                                                  message_ptr msg) {
  auto list = std::make_shared<const std::vector<std::string>>(std::move(groups));
  for_each_shard([msg, list](shard_state& s) {
    // One message per group (ASP.NET Core does not de-duplicate either).
    for (const auto& g : *list) {
      auto it = s.groups.find(g);
      if (it == s.groups.end()) continue;
      for (auto* c : it->second) c->send(*msg);
    }
  });
}

void default_hub_lifetime_manager::deliver_users(std::vector<std::string> user_ids,
                                                 message_ptr msg) {
  auto plan = directory_.plan_users(user_ids);
  for (auto& [shard, list] : plan) {
    on_shard(shard, [msg, list = std::move(list)](shard_state& s) {
      for (const auto& u : list) {
        auto it = s.users.find(u);
        if (it == s.users.end()) continue;
        for (auto* c : it->second) c->send(*msg);
      }
    });
  }
}

asio::awaitable<void> default_hub_lifetime_manager::send_all(outgoing m,
                                                             std::vector<std::string> excluded) {
  deliver_all(serialize(m), std::move(excluded));
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::send_connection(std::string connection_id,
                                                                    outgoing m) {
  if (is_local(connection_id)) deliver_connections({std::move(connection_id)}, serialize(m));
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::send_connections(std::vector<std::string> ids,
                                                                     outgoing m) {
  deliver_connections(std::move(ids), serialize(m));
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::send_group(std::string group, outgoing m,
                                                               std::vector<std::string> excluded) {
  deliver_group(group, serialize(m), std::move(excluded));
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::send_groups(std::vector<std::string> groups,
                                                                outgoing m) {
  deliver_groups(std::move(groups), serialize(m));
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::send_user(std::string user_id, outgoing m) {
  deliver_users({std::move(user_id)}, serialize(m));
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::send_users(std::vector<std::string> user_ids,
                                                               outgoing m) {
  deliver_users(std::move(user_ids), serialize(m));
  co_return;
}

void default_hub_lifetime_manager::add_to_group_local(shard_state& s, hub_connection* c,
                                                      const std::string& group) {
  if (!c->join_group(group)) return;
  s.groups[group].push_back(c);
}

void default_hub_lifetime_manager::remove_from_group_local(shard_state& s, hub_connection* c,
                                                           const std::string& group) {
  if (!c->leave_group(group)) return;
  auto it = s.groups.find(group);
  if (it == s.groups.end()) return;
  erase_value(it->second, c);
  if (it->second.empty()) s.groups.erase(it);
}

void default_hub_lifetime_manager::add_to_group_now(const std::string& connection_id,
                                                    const std::string& group) {
  auto shard = directory_.shard_of(connection_id);
  if (!shard) return;  // not connected (ASP.NET: a no-op)
  on_shard(*shard, [this, connection_id, group](shard_state& s) {
    auto it = s.by_id.find(connection_id);
    if (it != s.by_id.end()) add_to_group_local(s, it->second, group);
  });
}

void default_hub_lifetime_manager::remove_from_group_now(const std::string& connection_id,
                                                         const std::string& group) {
  auto shard = directory_.shard_of(connection_id);
  if (!shard) return;
  on_shard(*shard, [this, connection_id, group](shard_state& s) {
    auto it = s.by_id.find(connection_id);
    if (it != s.by_id.end()) remove_from_group_local(s, it->second, group);
  });
}

bool default_hub_lifetime_manager::with_connection(
    const std::string& connection_id, std::function<void(session::hub_connection*)> f) {
  auto shard = directory_.shard_of(connection_id);
  if (!shard) return false;
  on_shard(*shard, [connection_id, f = std::move(f)](shard_state& s) {
    auto it = s.by_id.find(connection_id);
    f(it == s.by_id.end() ? nullptr : it->second);
  });
  return true;
}

asio::awaitable<void> default_hub_lifetime_manager::add_to_group(std::string connection_id,
                                                                 std::string group) {
  add_to_group_now(connection_id, group);
  co_return;
}

asio::awaitable<void> default_hub_lifetime_manager::remove_from_group(std::string connection_id,
                                                                      std::string group) {
  remove_from_group_now(connection_id, group);
  co_return;
}

void default_hub_lifetime_manager::close_all(std::optional<std::string> error,
                                             bool allow_reconnect) {
  for_each_shard([error, allow_reconnect](shard_state& s) {
    auto all = s.all;
    for (auto* c : all) c->close_when_idle(error, allow_reconnect);
  });
}

asio::awaitable<session::client_result> default_hub_lifetime_manager::invoke_connection(
    std::string connection_id, std::string target, protocol::payload args,
    std::chrono::milliseconds timeout) {
  auto owner_shard = directory_.shard_of(connection_id);
  if (!owner_shard)
    co_return session::client_result{
        client_results_manager::does_not_exist(connection_id), {}, false};
  // Registered before it is sent; if the connection goes meanwhile, its removal fails it.
  auto pending = results_.expect(connection_id, co_await asio::this_coro::executor);
  const std::size_t i = *owner_shard;
  asio::dispatch(shards_.executor(i), [this, i, id = pending.id(), connection_id,
                                       target = std::move(target), args = std::move(args)] {
    auto& s = *state_[i];
    auto it = s.by_id.find(connection_id);
    if (it == s.by_id.end() || it->second->closing()) {
      results_.try_complete(
          id,
          session::client_result{client_results_manager::does_not_exist(connection_id), {}, false});
      return;
    }
    if (!it->second->send_invocation(target, args, id))
      results_.try_complete(
          id, session::client_result{std::string(client_results_manager::closed), {}, false});
  });
  auto op = pending.result(timeout);
  co_return co_await std::move(op);
}

bool default_hub_lifetime_manager::set_connection_result(std::string_view connection_id,
                                                         const std::string& invocation_id,
                                                         session::client_result r) {
  return results_.try_complete(connection_id, invocation_id, std::move(r)) ==
         client_results_manager::completion::completed;
}

}  // namespace hubcast::lifetime

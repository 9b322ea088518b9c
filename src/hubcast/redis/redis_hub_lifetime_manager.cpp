#include <hubcast/redis/redis_hub_lifetime_manager.hpp>

#include <unistd.h>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/core/log.hpp>
#include <hubcast/core/run_on.hpp>
#include <hubcast/hubs/errors.hpp>
#include <hubcast/protocol/msgpack_value.hpp>
#include <hubcast/protocol/value_codec.hpp>
#include <hubcast/redis/redis_protocol.hpp>
#include <hubcast/session/hub_connection.hpp>

namespace hubcast::redis {

namespace asio = boost::asio;
using session::client_result;
using session::hub_connection;

namespace {

auto logger() {
  return log::category("hubcast.redis");
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("no random bytes");
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

// The bytes of a received invocation, by protocol (names this server does not know are left
// out: no local connection can use them).
lifetime::message_ptr to_message(const redis_invocation& inv) {
  auto msg = std::make_shared<protocol::serialized_message>();
  for (const auto& s : inv.messages) {
    if (auto* p = protocol::find_protocol(s.protocol))
      msg->set(p->id(), std::make_shared<const std::string>(s.bytes));
  }
  return msg;
}

// The Completion a client sent, written again in its protocol for the server that waits.
std::string completion_bytes(const protocol::hub_protocol& proto, const std::string& id,
                             const client_result& r) {
  std::string out;
  if (r.error) {
    proto.write_completion_error(out, id, *r.error);
  } else if (!r.has_value) {
    proto.write_completion_void(out, id);
  } else if (r.value.is_msgpack()) {
    msgpack::sbuffer buf;
    msgpack::pack(buf, r.value.msgpack().object);
    auto bytes = std::make_shared<const std::string>(buf.data(), buf.size());
    proto.write_completion_result(out, id, protocol::payload::preserialized(nullptr, bytes), {});
  } else {
    auto text = std::make_shared<const std::string>(boost::json::serialize(r.value.json()));
    proto.write_completion_result(out, id, protocol::payload::preserialized(text, nullptr), {});
  }
  return out;
}

}  // namespace

std::string make_server_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !host[0])
    std::snprintf(host, sizeof host, "hubcast");
  return std::string(host) + "_" + random_hex(16);
}

struct redis_hub_lifetime_manager::waiter {
  using channel =
      asio::experimental::concurrent_channel<void(boost::system::error_code, client_result)>;
  explicit waiter(asio::any_io_executor ex) : ch(ex, 1) {}
  channel ch;
  void complete(client_result r) { ch.try_send(boost::system::error_code{}, std::move(r)); }
};

redis_hub_lifetime_manager::redis_hub_lifetime_manager(shard_pool& shards,
                                                       const hub_options& options,
                                                       std::shared_ptr<redis_client> client,
                                                       redis_hub_options redis)
    : local_(shards, options),
      options_(options),
      client_(std::move(client)),
      redis_(std::move(redis)),
      channels_(client_->options().channel_prefix, redis_.backplane_name) {
  if (redis_.server_name.empty()) redis_.server_name = make_server_name();
  ack_suffix_ = "internal:ack:" + redis_.server_name;
  return_suffix_ = "internal:return:" + redis_.server_name;
}

redis_hub_lifetime_manager::~redis_hub_lifetime_manager() = default;

void redis_hub_lifetime_manager::start() {
  // Wanted from now on, subscribed when Redis answers (and again after every reconnect).
  for (auto ch : {channels_.all(), channels_.group_management(), channels_.ack(redis_.server_name),
                  channels_.return_results(redis_.server_name)})
    client_->subscribe_detached(ch);
}

void redis_hub_lifetime_manager::invalid(std::string_view channel, const std::string& why) {
  counters_.invalid_messages.fetch_add(1, std::memory_order_relaxed);
  static log::rate_limit limit(std::chrono::seconds(10));
  if (auto skipped = limit.ready())
    logger()->warn("Ignored a malformed backplane message on {}: {}{}", log::escape(channel),
                   log::escape(why),
                   *skipped ? " (" + std::to_string(*skipped) + " more not logged)" : "");
}

// --- receiving -----------------------------------------------------------------------------

void redis_hub_lifetime_manager::on_message(std::string_view channel, std::string_view payload) {
  auto rest = channel.substr(channels_.prefix().size());
  if (rest.empty() || rest.front() != ':') return;
  rest.remove_prefix(1);
  try {
    if (rest == "all") return on_invocation("all", {}, payload);
    if (rest == "internal:groups") return on_group_command(payload);
    if (rest == ack_suffix_) return on_ack(payload);
    if (rest == return_suffix_) return on_completion(payload);
    for (std::string_view kind : {"connection", "group", "user"}) {
      if (rest.size() > kind.size() && rest.substr(0, kind.size()) == kind &&
          rest[kind.size()] == ':')
        return on_invocation(kind, rest.substr(kind.size() + 1), payload);
    }
  } catch (const std::exception& e) {
    invalid(channel, e.what());
  }
}

void redis_hub_lifetime_manager::on_invocation(std::string_view kind, std::string_view rest,
                                               std::string_view payload) {
  auto inv = read_invocation(payload);
  auto msg = to_message(inv);
  if (kind == "all") {
    local_.deliver_all(std::move(msg), std::move(inv.excluded));
  } else if (kind == "group") {
    local_.deliver_group(std::string(rest), std::move(msg), std::move(inv.excluded));
  } else if (kind == "user") {
    local_.deliver_users({std::string(rest)}, std::move(msg));
  } else if (inv.invocation_id && inv.return_channel) {
    forward_client_result(std::string(rest), inv, std::move(msg));
  } else {
    local_.deliver_connections({std::string(rest)}, std::move(msg));
  }
}

void redis_hub_lifetime_manager::forward_client_result(const std::string& connection_id,
                                                       const redis_invocation& inv,
                                                       lifetime::message_ptr msg) {
  auto client = client_;
  auto id = *inv.invocation_id;
  auto back = *inv.return_channel;
  auto reply = [client, back](std::string protocol_name, std::string bytes) {
    asio::co_spawn(
        client->executor(),
        [client, back, p = std::move(protocol_name),
         b = std::move(bytes)]() -> asio::awaitable<void> {
          try {
            co_await client->publish(back, write_completion(p, b));
          } catch (const std::exception& e) {
            logger()->warn("Could not return a client result: {}", log::escape(e.what()));
          }
        },
        asio::detached);
  };
  // Runs later on the connection's shard: it keeps the manager (and its registry) alive.
  bool here = local_.with_connection(connection_id, [self = shared_from_this(), connection_id, id,
                                                     msg, reply](hub_connection* c) {
    auto& results = self->local_.client_results();
    if (!c || c->closing() || !c->protocol()) {
      auto& json = protocol::json_protocol();
      reply("json",
            completion_bytes(
                json, id,
                client_result{std::string(lifetime::client_results_manager::closed), {}, false}));
      return;
    }
    const auto* proto = c->protocol();
    bool registered = results.add(id, connection_id, [proto, id, reply](client_result r) {
      reply(std::string(proto->name()), completion_bytes(*proto, id, r));
    });
    if (!registered) return;  // the same invocation twice
    if (!c->send(*msg))
      results.try_complete(
          id, client_result{std::string(lifetime::client_results_manager::closed), {}, false});
  });
  if (!here) {
    auto& json = protocol::json_protocol();
    reply("json",
          completion_bytes(
              json, id,
              client_result{
                  lifetime::client_results_manager::does_not_exist(connection_id), {}, false}));
  }
}

void redis_hub_lifetime_manager::on_group_command(std::string_view payload) {
  auto cmd = read_group_command(payload);
  if (!local_.is_local(cmd.connection_id)) return;  // its owner answers
  counters_.group_commands.fetch_add(1, std::memory_order_relaxed);
  auto self = shared_from_this();
  asio::co_spawn(
      client_->executor(),
      [self, cmd = std::move(cmd)]() -> asio::awaitable<void> {
        try {
          if (cmd.action == static_cast<std::uint8_t>(group_action::add) ||
              cmd.action == static_cast<std::uint8_t>(group_action::remove))
            co_await self->apply_group(static_cast<group_action>(cmd.action), cmd.connection_id,
                                       cmd.group);
          // Acknowledged after the subscription is made, so that a group send that follows
          // the sender's AddToGroup reaches the new member. Unknown actions: acked, no change.
          co_await self->client_->publish(self->channels_.ack(cmd.server), write_ack(cmd.id));
        } catch (const std::exception& e) {
          logger()->warn("A group command from {} failed: {}", log::escape(cmd.server),
                         log::escape(e.what()));
        }
      },
      asio::detached);
}

void redis_hub_lifetime_manager::on_ack(std::string_view payload) {
  auto id = read_ack(payload);
  std::shared_ptr<waiter> w;
  {
    std::lock_guard lock(waiters_mutex_);
    auto it = acks_.find(id);
    if (it == acks_.end()) return;  // timed out already
    w = it->second;
    acks_.erase(it);
  }
  w->complete(client_result{});
}

void redis_hub_lifetime_manager::on_completion(std::string_view payload) {
  auto c = read_completion(payload);
  const auto* proto = protocol::find_protocol(c.protocol);
  if (!proto) throw protocol_error("unknown protocol '" + c.protocol + "'");
  std::string_view view(c.bytes);
  auto step = proto->parse_next(view, options_.maximum_receive_message_size);
  if (step.kind != protocol::parse_step::message || !step.msg)
    throw protocol_error("not a hub message: " + step.error);
  auto* m = std::get_if<protocol::completion_message>(&*step.msg);
  if (!m) throw protocol_error("not a Completion message");
  remote_results_.try_complete(m->invocation_id,
                               client_result{m->error, std::move(m->result), m->has_result});
}

// --- connections ---------------------------------------------------------------------------

asio::awaitable<void> redis_hub_lifetime_manager::on_connected(hub_connection* c) {
  auto op = local_.on_connected(c);
  co_await std::move(op);
  auto self = shared_from_this();
  auto id = c->connection_id();
  auto user = c->user_identifier();
  // The bookkeeping first (on_disconnected undoes it even when a subscription fails), then the
  // subscriptions, confirmed by Redis before the connection is announced.
  auto work = run_on<void>(client_->executor(), [self, id, user]() -> asio::awaitable<void> {
    bool first_of_user = user && self->user_connections_[*user]++ == 0;
    auto sub = self->client_->subscribe(self->channels_.connection(id));
    co_await std::move(sub);
    if (first_of_user) {
      auto sub_user = self->client_->subscribe(self->channels_.user(*user));
      co_await std::move(sub_user);
    }
  });
  try {
    co_await std::move(work);
  } catch (const redis_unavailable& e) {
    throw hub_exception(std::string("The Redis backplane is unavailable: ") + e.what());
  }
}

asio::awaitable<void> redis_hub_lifetime_manager::on_disconnected(hub_connection* c) {
  auto self = shared_from_this();
  auto id = c->connection_id();
  auto user = c->user_identifier();
  auto groups = c->groups();
  auto op = local_.on_disconnected(c);
  co_await std::move(op);
  auto work =
      run_on<void>(client_->executor(), [self, id, user, groups]() -> asio::awaitable<void> {
        auto& client = *self->client_;
        auto unsub = client.unsubscribe(self->channels_.connection(id));
        co_await std::move(unsub);
        if (user) {
          auto it = self->user_connections_.find(*user);
          if (it != self->user_connections_.end() && --it->second == 0) {
            self->user_connections_.erase(it);
            auto unsub_user = client.unsubscribe(self->channels_.user(*user));
            co_await std::move(unsub_user);
          }
        }
        for (const auto& g : groups) {
          auto it = self->group_members_.find(g);
          if (it == self->group_members_.end()) continue;
          it->second.erase(id);
          if (it->second.empty()) {
            self->group_members_.erase(it);
            auto unsub_group = client.unsubscribe(self->channels_.group(g));
            co_await std::move(unsub_group);
          }
        }
      });
  co_await std::move(work);
}

// --- sending -------------------------------------------------------------------------------

asio::awaitable<long long> redis_hub_lifetime_manager::publish(std::string channel,
                                                               std::string payload) {
  try {
    auto op = client_->publish(std::move(channel), std::move(payload));
    co_return co_await std::move(op);
  } catch (const redis_unavailable& e) {
    throw hub_exception(std::string("The message could not be sent: the Redis backplane is "
                                    "unavailable (") +
                        e.what() + ")");
  }
}

std::string redis_hub_lifetime_manager::invocation_payload(
    const lifetime::outgoing& m, const std::vector<std::string>& excluded,
    const std::optional<std::string>& invocation_id) {
  std::vector<serialization_view> views;
  std::vector<std::string> keep;
  if (invocation_id) {
    // Each protocol's bytes carry the invocation id: written here, not from the shared cache.
    keep.reserve(protocol::protocol_count);
    for (std::size_t p = 0; p < protocol::protocol_count; ++p) {
      auto& proto = protocol::protocol_by_id(static_cast<protocol::protocol_id>(p));
      keep.emplace_back();
      proto.write_invocation(keep.back(), m.target, m.args, *invocation_id, options_.encoding);
      views.emplace_back(proto.name(), keep.back());
    }
    return write_invocation(excluded, views, invocation_id,
                            channels_.return_results(redis_.server_name));
  }
  auto msg = local_.serialize(m, true);
  for (std::size_t p = 0; p < protocol::protocol_count; ++p) {
    auto id = static_cast<protocol::protocol_id>(p);
    if (auto b = msg->get(id)) views.emplace_back(protocol::protocol_by_id(id).name(), *b);
  }
  return write_invocation(excluded, views);
}

asio::awaitable<void> redis_hub_lifetime_manager::send_all(lifetime::outgoing m,
                                                           std::vector<std::string> excluded) {
  auto op = publish(channels_.all(), invocation_payload(m, excluded));
  co_await std::move(op);
}

asio::awaitable<void> redis_hub_lifetime_manager::send_connection(std::string connection_id,
                                                                  lifetime::outgoing m) {
  if (local_.is_local(connection_id)) {  // written directly, never published
    local_.deliver_connections({std::move(connection_id)}, local_.serialize(m));
    co_return;
  }
  auto op = publish(channels_.connection(connection_id), invocation_payload(m));
  co_await std::move(op);
}

asio::awaitable<void> redis_hub_lifetime_manager::send_connections(std::vector<std::string> ids,
                                                                   lifetime::outgoing m) {
  auto payload = invocation_payload(m);
  for (const auto& id : ids) {  // one publish per id, local ones included (as ASP.NET Core)
    auto op = publish(channels_.connection(id), payload);
    co_await std::move(op);
  }
}

asio::awaitable<void> redis_hub_lifetime_manager::send_group(std::string group,
                                                             lifetime::outgoing m,
                                                             std::vector<std::string> excluded) {
  auto op = publish(channels_.group(group), invocation_payload(m, excluded));
  co_await std::move(op);
}

asio::awaitable<void> redis_hub_lifetime_manager::send_groups(std::vector<std::string> groups,
                                                              lifetime::outgoing m) {
  auto payload = invocation_payload(m);
  for (const auto& g : groups) {
    if (g.empty()) continue;
    auto op = publish(channels_.group(g), payload);
    co_await std::move(op);
  }
}

asio::awaitable<void> redis_hub_lifetime_manager::send_user(std::string user_id,
                                                            lifetime::outgoing m) {
  auto op = publish(channels_.user(user_id), invocation_payload(m));
  co_await std::move(op);
}

asio::awaitable<void> redis_hub_lifetime_manager::send_users(std::vector<std::string> user_ids,
                                                             lifetime::outgoing m) {
  auto payload = invocation_payload(m);
  for (const auto& u : user_ids) {
    auto op = publish(channels_.user(u), payload);
    co_await std::move(op);
  }
}

// --- groups --------------------------------------------------------------------------------

asio::awaitable<void> redis_hub_lifetime_manager::apply_group(group_action action,
                                                              std::string connection_id,
                                                              std::string group) {
  // On the client's executor.
  if (!local_.is_local(connection_id)) co_return;  // it closed meanwhile
  if (action == group_action::add) {
    auto& members = group_members_[group];
    bool first = members.empty();
    members.insert(connection_id);
    if (first) {
      auto sub = client_->subscribe(channels_.group(group));
      co_await std::move(sub);
    }
    local_.add_to_group_now(connection_id, group);
  } else {
    local_.remove_from_group_now(connection_id, group);
    auto it = group_members_.find(group);
    if (it == group_members_.end() || it->second.erase(connection_id) == 0) co_return;
    if (it->second.empty()) {
      group_members_.erase(it);
      auto unsub = client_->unsubscribe(channels_.group(group));
      co_await std::move(unsub);
    }
  }
}

asio::awaitable<void> redis_hub_lifetime_manager::remote_group(group_action action,
                                                               std::string connection_id,
                                                               std::string group) {
  redis_group_command cmd;
  cmd.id = ++next_command_id_;
  cmd.server = redis_.server_name;
  cmd.action = static_cast<std::uint8_t>(action);
  cmd.group = std::move(group);
  cmd.connection_id = std::move(connection_id);
  auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
  {
    std::lock_guard lock(waiters_mutex_);
    acks_[cmd.id] = w;
  }
  auto forget = [this, id = cmd.id] {
    std::lock_guard lock(waiters_mutex_);
    acks_.erase(id);
  };
  try {
    auto op = publish(channels_.group_management(), write_group_command(cmd));
    co_await std::move(op);
  } catch (...) {
    forget();
    throw;
  }
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, redis_.ack_timeout);
  auto r =
      co_await (w->ch.async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
  if (r.index() == 0) co_return;
  forget();
  counters_.ack_timeouts.fetch_add(1, std::memory_order_relaxed);
  // No server owns the connection, or its owner did not answer (ASP.NET Core: a cancellation).
  throw hub_exception("The group change for connection '" + cmd.connection_id +
                      "' was not acknowledged within " +
                      std::to_string(redis_.ack_timeout.count() / 1000) + " s.");
}

asio::awaitable<void> redis_hub_lifetime_manager::change_group(group_action action,
                                                               std::string connection_id,
                                                               std::string group) {
  if (!local_.is_local(connection_id)) {  // its owner makes the change and acknowledges it
    auto op = remote_group(action, std::move(connection_id), std::move(group));
    co_await std::move(op);
    co_return;
  }
  auto self = shared_from_this();
  auto op = run_on<void>(client_->executor(),
                         [self, action, connection_id, group]() -> asio::awaitable<void> {
                           auto a = self->apply_group(action, connection_id, group);
                           co_await std::move(a);
                         });
  try {
    co_await std::move(op);
  } catch (const redis_unavailable& e) {
    throw hub_exception(std::string("The Redis backplane is unavailable: ") + e.what());
  }
}

asio::awaitable<void> redis_hub_lifetime_manager::add_to_group(std::string connection_id,
                                                               std::string group) {
  return change_group(group_action::add, std::move(connection_id), std::move(group));
}

asio::awaitable<void> redis_hub_lifetime_manager::remove_from_group(std::string connection_id,
                                                                    std::string group) {
  return change_group(group_action::remove, std::move(connection_id), std::move(group));
}

// --- client results ------------------------------------------------------------------------

asio::awaitable<client_result> redis_hub_lifetime_manager::invoke_connection(
    std::string connection_id, std::string target, protocol::payload args,
    std::chrono::milliseconds timeout) {
  if (local_.is_local(connection_id)) {
    auto op = local_.invoke_connection(std::move(connection_id), std::move(target), std::move(args),
                                       timeout);
    co_return co_await std::move(op);
  }
  // 22 characters, like ASP.NET Core's ids.
  auto pending =
      remote_results_.expect(connection_id, co_await asio::this_coro::executor, random_hex(11));
  lifetime::outgoing m{std::move(target), std::move(args)};
  long long receivers = 0;
  try {
    auto op = publish(channels_.connection(connection_id), invocation_payload(m, {}, pending.id()));
    receivers = co_await std::move(op);
  } catch (...) {
    remote_results_.remove(pending.id());
    throw;
  }
  if (receivers == 0) {  // no server has it (ASP.NET Core: the same, from PUBLISH's count)
    remote_results_.remove(pending.id());
    co_return client_result{
        lifetime::client_results_manager::does_not_exist(connection_id), {}, false};
  }
  auto op = pending.result(timeout);
  co_return co_await std::move(op);
}

}  // namespace hubcast::redis

#include <hubcast/lifetime/client_results_manager.hpp>

#include <stdexcept>
#include <utility>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast::lifetime {

namespace asio = boost::asio;
using session::client_result;

struct client_results_manager::awaited::state {
  explicit state(asio::any_io_executor ex) : ch(std::move(ex), 1) {}
  // Thread-safe: the handler may run on any shard, the caller awaits on its own.
  asio::experimental::concurrent_channel<void(boost::system::error_code, client_result)> ch;
};

std::string client_results_manager::does_not_exist(std::string_view connection_id) {
  return "Connection '" + std::string(connection_id) + "' does not exist.";
}

std::string client_results_manager::next_id(std::string_view prefix) {
  return std::string(prefix) + std::to_string(next_.fetch_add(1, std::memory_order_relaxed));
}

bool client_results_manager::add(std::string invocation_id, std::string connection_id, handler h) {
  std::lock_guard lock(mutex_);
  auto [it, added] = pending_.try_emplace(invocation_id, entry{connection_id, std::move(h)});
  if (!added) return false;
  by_connection_[std::move(connection_id)].push_back(std::move(invocation_id));
  return true;
}

client_results_manager::entry client_results_manager::take(
    std::unordered_map<std::string, entry>::iterator it) {
  entry e = std::move(it->second);
  auto c = by_connection_.find(e.connection_id);
  if (c != by_connection_.end()) {
    auto& ids = c->second;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == it->first) {
        ids[i] = std::move(ids.back());
        ids.pop_back();
        break;
      }
    }
    if (ids.empty()) by_connection_.erase(c);
  }
  pending_.erase(it);
  return e;
}

client_results_manager::completion client_results_manager::try_complete(
    std::string_view connection_id, const std::string& invocation_id, client_result r) {
  handler h;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(invocation_id);
    if (it == pending_.end()) return completion::unknown;
    if (it->second.connection_id != connection_id) return completion::wrong_connection;
    h = take(it).on_result;
  }
  if (h) h(std::move(r));
  return completion::completed;
}

bool client_results_manager::try_complete(const std::string& invocation_id, client_result r) {
  handler h;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(invocation_id);
    if (it == pending_.end()) return false;
    h = take(it).on_result;
  }
  if (h) h(std::move(r));
  return true;
}

bool client_results_manager::remove(const std::string& invocation_id) {
  handler dropped;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  auto it = pending_.find(invocation_id);
  if (it == pending_.end()) return false;
  dropped = take(it).on_result;
  return true;
}

std::size_t client_results_manager::fail_connection(std::string_view connection_id,
                                                    std::string_view error) {
  std::vector<handler> failed;
  {
    std::lock_guard lock(mutex_);
    auto c = by_connection_.find(std::string(connection_id));
    if (c == by_connection_.end()) return 0;
    auto ids = std::move(c->second);
    by_connection_.erase(c);
    failed.reserve(ids.size());
    for (const auto& id : ids) {
      auto it = pending_.find(id);
      if (it == pending_.end()) continue;
      failed.push_back(std::move(it->second.on_result));
      pending_.erase(it);
    }
  }
  for (auto& h : failed)
    if (h) h(client_result{std::string(error), {}, false});
  return failed.size();
}

std::size_t client_results_manager::pending() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

client_results_manager::awaited client_results_manager::expect(std::string connection_id,
                                                               asio::any_io_executor ex,
                                                               std::string invocation_id) {
  if (invocation_id.empty()) invocation_id = next_id();
  auto st = std::make_shared<awaited::state>(std::move(ex));
  // Only the awaiting caller owns the channel: an entry left behind (its coroutine destroyed
  // with its executor, at shutdown) must not outlive that executor with it.
  bool added = add(invocation_id, std::move(connection_id),
                   [weak = std::weak_ptr<awaited::state>(st)](client_result r) {
                     if (auto alive = weak.lock())
                       alive->ch.try_send(boost::system::error_code{}, std::move(r));
                   });
  if (!added) throw std::logic_error("invocation '" + invocation_id + "' is already pending");
  return awaited(*this, std::move(invocation_id), std::move(st));
}

asio::awaitable<client_result> client_results_manager::awaited::result(
    std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto st = state_;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto r =
      co_await (st->ch.async_receive(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
  if (r.index() == 0) co_return std::get<0>(std::move(r));
  // Timed out. A Completion that raced the timer is taken if it is already there.
  owner_->remove(id_);
  client_result late;
  bool got = false;
  st->ch.try_receive([&](boost::system::error_code, client_result v) {
    late = std::move(v);
    got = true;
  });
  if (got) co_return late;
  co_return client_result{std::string(timed_out), {}, false};
}

}  // namespace hubcast::lifetime

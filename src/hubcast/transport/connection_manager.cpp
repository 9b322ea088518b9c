#include <hubcast/transport/connection_manager.hpp>

#include <hubcast/auth/base64url.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hubcast::transport {

namespace asio = boost::asio;

std::string make_connection_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  return auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
}

connection_manager::connection_manager(std::chrono::milliseconds disconnect_timeout,
                                       std::size_t max_pending)
    : disconnect_timeout_(disconnect_timeout), max_pending_(max_pending) {}

std::shared_ptr<connection> connection_manager::create(int negotiate_version, queue_limits limits,
                                                       bool counted) {
  if (counted && max_pending_ != 0 && pending_->load() >= max_pending_) return nullptr;
  auto id = make_connection_id();
  auto token = negotiate_version >= 1 ? make_connection_id() : id;
  auto c = std::make_shared<connection>(id, token, negotiate_version, limits);
  if (counted) c->count_as_pending(pending_);
  std::lock_guard lock(mutex_);
  by_token_[token] = c;
  return c;
}

std::shared_ptr<connection> connection_manager::find(const std::string& token) const {
  std::lock_guard lock(mutex_);
  auto it = by_token_.find(token);
  return it == by_token_.end() ? nullptr : it->second;
}

void connection_manager::remove(const std::string& token) {
  std::shared_ptr<connection> gone;
  std::shared_ptr<const std::function<void()>> notify;
  {
    std::lock_guard lock(mutex_);
    auto it = by_token_.find(token);
    if (it == by_token_.end()) return;
    gone = std::move(it->second);
    by_token_.erase(it);
    notify = on_removed_;
  }
  gone->release_pending();
  gone->record_end(shutting_down_.load() ? "app_shutdown" : "normal_closure");
  if (notify) (*notify)();
}

void connection_manager::set_on_removed(std::function<void()> f) {
  auto p = f ? std::make_shared<const std::function<void()>>(std::move(f)) : nullptr;
  std::lock_guard lock(mutex_);
  on_removed_ = std::move(p);
}

std::size_t connection_manager::size() const {
  std::lock_guard lock(mutex_);
  return by_token_.size();
}

std::size_t connection_manager::active() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (auto& [k, c] : by_token_) n += c->is_started() ? 1 : 0;
  return n;
}

std::vector<std::shared_ptr<connection>> connection_manager::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<connection>> out;
  out.reserve(by_token_.size());
  for (auto& [k, c] : by_token_) out.push_back(c);
  return out;
}

void connection_manager::scan_once(std::chrono::steady_clock::time_point now) {
  auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::vector<std::shared_ptr<connection>> disposed;
  std::shared_ptr<const std::function<void()>> notify;
  // Draining: a client that is not polling now, or a dropped stateful WebSocket, will not come
  // back to this node (its listeners are closed); waiting the whole disconnect timeout for it
  // would hold the shutdown. A live long-polling client polls again within a round trip.
  const bool draining = shutting_down_.load();
  const long long client_gone_ms = draining ? std::min<long long>(disconnect_timeout_.count(), 1000)
                                            : disconnect_timeout_.count();
  {
    std::lock_guard lock(mutex_);
    for (auto it = by_token_.begin(); it != by_token_.end();) {
      const auto& c = it->second;
      bool expired = false;
      if (!c->is_started()) {
        // Negotiated but never used (every failed transport attempt leaves one, §13 item 14).
        expired = now - c->created_at() > disconnect_timeout_;
      } else if (c->is_lost()) {
        // A stateful WebSocket that dropped: the client has the disconnect timeout to return.
        expired = draining || now_ms - c->lost_since_ms() > disconnect_timeout_.count();
      } else if (c->transport() == transport_type::long_polling && !c->poll_active()) {
        // Long polling between polls: the client is gone if no poll comes in time.
        expired = now_ms - c->last_activity_ms() > client_gone_ms;
      }
      if (expired) {
        disposed.push_back(c);
        it = by_token_.erase(it);
      } else {
        ++it;
      }
    }
    if (!disposed.empty()) notify = on_removed_;
  }
  for (auto& c : disposed) {
    c->release_pending();
    c->record_end(shutting_down_.load() ? "app_shutdown" : "timeout");
    if (!c->transport_active()) continue;
    asio::post(c->get_executor(), [c] {
      c->end_input(errc::connection_closed_prematurely);  // gone without a close
      c->abort();
    });
  }
  // A drain waits on removals: expired connections are removals too.
  if (notify) (*notify)();
}

void connection_manager::start_scan(asio::any_io_executor ex) {
  timer_ = std::make_shared<asio::steady_timer>(ex);
  auto timer = timer_;
  asio::co_spawn(
      ex,
      [this, timer]() -> asio::awaitable<void> {
        for (;;) {
          timer->expires_after(std::chrono::seconds(1));
          auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          scan_once(std::chrono::steady_clock::now());
        }
      },
      asio::detached);
}

void connection_manager::stop_scan() {
  if (timer_) {
    auto t = timer_;
    asio::post(t->get_executor(), [t] { t->cancel(); });
  }
}

}  // namespace hubcast::transport

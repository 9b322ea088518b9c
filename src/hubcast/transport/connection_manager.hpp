// Live connections keyed by their secret token (HttpConnectionManager). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <hubcast/transport/connection.hpp>

namespace hubcast::transport {

// 16 random bytes from the system CSPRNG, base64url without padding (22 characters).
std::string make_connection_id();

class connection_manager {
 public:
  // `max_pending`: negotiated connections that have not started a transport yet, at most
  // (0: no cap). Past it, create() refuses (the endpoint answers 503 with Retry-After).
  explicit connection_manager(std::chrono::milliseconds disconnect_timeout,
                              std::size_t max_pending = 0);

  // `negotiate_version` 0: the token is the id (old clients); otherwise an independent secret.
  // Null when `counted` and the pending cap is reached.
  std::shared_ptr<connection> create(int negotiate_version, queue_limits limits,
                                     bool counted = true);
  std::size_t pending() const { return pending_->load(); }
  std::chrono::milliseconds disconnect_timeout() const { return disconnect_timeout_; }
  std::shared_ptr<connection> find(const std::string& token) const;
  void remove(const std::string& token);
  std::size_t size() const;
  // Connections with a transport attached.
  std::size_t active() const;

  // Every second, drops connections negotiated but never used within the disconnect timeout.
  void start_scan(boost::asio::any_io_executor ex);
  void stop_scan();
  void scan_once(std::chrono::steady_clock::time_point now);

  // Snapshot of live connections (for shutdown).
  std::vector<std::shared_ptr<connection>> all() const;
  // Called (on the removing thread, outside the lock) after every remove(): what a graceful
  // shutdown waits on instead of polling the count.
  void set_on_removed(std::function<void()> f);
  // From now on, connections that end are recorded as closed by the app's shutdown.
  void set_shutting_down() { shutting_down_ = true; }
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  std::chrono::milliseconds disconnect_timeout_;
  std::atomic<bool> shutting_down_{false};
  std::size_t max_pending_;
  std::shared_ptr<std::atomic<std::size_t>> pending_ =
      std::make_shared<std::atomic<std::size_t>>(0);
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<connection>> by_token_;
  std::shared_ptr<boost::asio::steady_timer> timer_;
  std::shared_ptr<const std::function<void()>> on_removed_;  // under mutex_
};

}  // namespace hubcast::transport

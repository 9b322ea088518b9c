// Client results waiting for their Completion (ASP.NET Core's ClientResultsManager): one
// registry per lifetime manager, thread-safe, keyed by invocation id. Each entry remembers the
// connection the invocation went to, and only that connection's Completion completes it (a
// client cannot answer an invocation sent to another one).
//
// An entry ends exactly once: completed (its handler gets the result), failed with the
// connection (fail_connection: the handler gets the error), or removed (timed out: the handler
// is not called). Handlers run on the thread that ends the entry, outside the registry's lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <hubcast/session/client_result.hpp>

namespace hubcast::lifetime {

class client_results_manager {
 public:
  using handler = std::function<void(session::client_result)>;

  // The errors a waiting caller gets when no Completion came.
  static constexpr std::string_view timed_out = "Timed out waiting for the client result.";
  static constexpr std::string_view disconnected = "Connection disconnected.";
  static constexpr std::string_view closed = "Connection closed.";
  static std::string does_not_exist(std::string_view connection_id);

  client_results_manager() = default;
  client_results_manager(const client_results_manager&) = delete;
  client_results_manager& operator=(const client_results_manager&) = delete;

  // An id no other invocation of this registry has: "<prefix><counter>".
  std::string next_id(std::string_view prefix = {});

  // Registers an invocation sent (or about to be sent) to `connection_id`. False, and `h`
  // dropped, when an invocation of that id is already pending (the same invocation twice).
  bool add(std::string invocation_id, std::string connection_id, handler h);

  enum class completion { completed, unknown, wrong_connection };
  // A Completion the connection sent (SetConnectionResultAsync).
  completion try_complete(std::string_view connection_id, const std::string& invocation_id,
                          session::client_result r);
  // A Completion relayed by id alone (a backplane's return channel to the waiting server).
  bool try_complete(const std::string& invocation_id, session::client_result r);
  // Forgets an invocation without calling its handler; false when it had already ended.
  bool remove(const std::string& invocation_id);
  // The connection is gone: each of its invocations ends with `error`. Returns how many.
  std::size_t fail_connection(std::string_view connection_id, std::string_view error);

  std::size_t pending() const;

  // An invocation a coroutine awaits: registered by expect(), read once with result().
  class awaited {
   public:
    const std::string& id() const { return id_; }
    // The Completion, or the timed_out error after `timeout` (the entry is then removed).
    boost::asio::awaitable<session::client_result> result(std::chrono::milliseconds timeout);

   private:
    friend class client_results_manager;
    struct state;
    awaited(client_results_manager& owner, std::string id, std::shared_ptr<state> st)
        : owner_(&owner), id_(std::move(id)), state_(std::move(st)) {}
    client_results_manager* owner_;
    std::string id_;
    std::shared_ptr<state> state_;
  };
  // Registers `invocation_id` (empty: next_id()) for a caller on `ex` that will await it.
  // Throws std::logic_error when that id is already pending.
  awaited expect(std::string connection_id, boost::asio::any_io_executor ex,
                 std::string invocation_id = {});

 private:
  struct entry {
    std::string connection_id;
    handler on_result;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> pending_;
  // connection id → its pending invocation ids (to fail them when it goes).
  std::unordered_map<std::string, std::vector<std::string>> by_connection_;
  std::atomic<std::uint64_t> next_{0};

  // With mutex_ held: takes the entry out of both maps.
  entry take(std::unordered_map<std::string, entry>::iterator it);
};

}  // namespace hubcast::lifetime

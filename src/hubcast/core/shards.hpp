// Threading model (docs/architecture.md): N shards, each one thread running its own
// io_context. A connection is pinned to one shard; everything touching it runs there, so the
// hot path needs no locks. Cross-shard work is posted.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

namespace hubcast {

class shard_pool {
 public:
  explicit shard_pool(std::size_t count);
  ~shard_pool();
  shard_pool(const shard_pool&) = delete;
  shard_pool& operator=(const shard_pool&) = delete;

  std::size_t size() const { return shards_.size(); }
  boost::asio::io_context& context(std::size_t i) { return *shards_[i]; }
  boost::asio::any_io_executor executor(std::size_t i) { return shards_[i]->get_executor(); }

  // Index of the shard whose thread is calling, or size() if none.
  std::size_t current() const;

  // Round-robin choice for a new connection.
  std::size_t next();

  // Runs shard 0 on the calling thread and the others on their own threads; returns when all
  // io_contexts ran out of work or stop() was called.
  void run();
  void stop();
  // Stops the threads and destroys every pending handler (coroutine frames and what they own)
  // on every shard, while all io_contexts still exist. Destroying one io_context at a time
  // instead frees its services while frames still queued on a later shard own timers and
  // sockets of the earlier one (heap-use-after-free at exit). Idempotent; called by the
  // destructor and by hubcast::app before its own members go.
  void shutdown();

 private:
  // An io_context whose services can be shut down before it is destroyed.
  class shard_context : public boost::asio::io_context {
   public:
    using boost::asio::io_context::io_context;
    void shutdown_services() { shutdown(); }
  };
  std::vector<std::unique_ptr<shard_context>> shards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace hubcast

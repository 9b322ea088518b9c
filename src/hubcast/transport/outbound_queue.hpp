// What a connection has yet to write (the "application → transport" half of ASP.NET Core's
// duplex pipe): shared serialized messages in order, bounded by count and bytes. A broadcast
// appends the same bytes to many queues; nothing is copied per recipient.
//
// Storage is a ring that allocates on the first message and is given back once the queue is
// drained: an idle connection holds no queue memory.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace hubcast::transport {

using shared_bytes = std::shared_ptr<const std::string>;

struct queue_limits {
  std::size_t max_messages = 65536;
  std::size_t max_bytes = 4 * 1024 * 1024;
};

class outbound_queue {
 public:
  explicit outbound_queue(queue_limits limits = {}) : limits_(limits) {}
  outbound_queue(const outbound_queue&) = delete;
  outbound_queue& operator=(const outbound_queue&) = delete;

  // False (and nothing queued) when the message would pass a limit: the caller decides what an
  // overflow means (the connection closes it).
  bool push(shared_bytes bytes);

  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return bytes_; }
  const queue_limits& limits() const { return limits_; }

  // The i-th queued message (0 is the oldest); i < size().
  const std::string& at(std::size_t i) const { return *ring_[(head_ + i) & (capacity_ - 1)]; }
  // Drops the n oldest messages (n <= size()).
  void pop(std::size_t n);
  // Takes the oldest message out.
  shared_bytes take_front();
  // Everything queued, concatenated, and the queue emptied.
  std::string take_joined();
  void clear();

 private:
  queue_limits limits_;
  std::unique_ptr<shared_bytes[]> ring_;
  std::size_t capacity_ = 0;  // a power of two, or 0 before the first message
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;

  void grow();
  void release_if_drained();
};

}  // namespace hubcast::transport

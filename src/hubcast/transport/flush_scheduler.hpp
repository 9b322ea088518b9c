// Write passes per shard. A send marks its connection ready; the first mark of a pass posts
// one flush to the shard. The flush lets the handlers already queued behind it run first (the
// rest of the fan-out, the next messages read from a publisher's socket) and goes round the
// queue again while they keep adding output, up to a gather time of 1 ms; then it writes every
// ready connection once. Under load each connection carries many messages into one write
// (self-clocking: the busier the shard, the bigger the writes); idle, a send is written after
// one turn of the shard's queue: no timer, no Nagle-style delay.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>

namespace hubcast::transport {

class flushable {
 public:
  virtual ~flushable() = default;
  // Writes what is ready (one gathered write per pass). Runs on the shard that scheduled it.
  virtual void flush() = 0;
};

// Adds `f` to the calling thread's next pass (the caller marks itself so that it is added at
// most once per pass). `ex` is the calling shard's executor.
void schedule_flush(std::shared_ptr<flushable> f, const boost::asio::any_io_executor& ex);
// A connection already in the next pass got more output (keeps the pass gathering).
void note_output();

}  // namespace hubcast::transport

#include <hubcast/transport/flush_scheduler.hpp>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

namespace hubcast::transport {

namespace {

using clock = std::chrono::steady_clock;

// How long a pass may keep gathering while messages keep arriving (an idle shard writes at its
// next turn): as long as the last pass took to write, at least 250 µs. A busy shard thus spends
// about as much time taking messages in as writing them out, and its writes grow with the load.
constexpr auto min_gather = std::chrono::microseconds(250);

struct pass_list {
  std::vector<std::shared_ptr<flushable>> ready;
  std::vector<std::shared_ptr<flushable>> running;  // kept for its capacity
  bool posted = false;
  std::uint64_t activity = 0;  // sends since the pass last looked
  clock::time_point first_mark;
  clock::duration last_pass{0};
  int turns = 0;

  // False: wait one more turn of the shard's queue. Handlers queued behind the pass (the next
  // read of a publisher's socket, the next fan-out) run first and add to the same writes; once
  // a whole turn brought nothing new, or the gather time is up, the pass writes.
  bool ready_to_write() {
    if (turns == 0 || activity != 0) {
      if (clock::now() - first_mark < std::max<clock::duration>(min_gather, last_pass)) {
        ++turns;
        activity = 0;
        return false;
      }
    }
    return true;
  }

  void run() {
    posted = false;
    turns = 0;
    running.swap(ready);  // marks made during this pass go to the next one
    auto start = clock::now();
    for (auto& f : running) f->flush();
    last_pass = clock::now() - start;
    running.clear();
    if (running.capacity() > 4096 && ready.empty()) running.shrink_to_fit();
  }
};

pass_list& this_thread_list() {
  thread_local pass_list list;
  return list;
}

// The posted pass. If the shard's io_context is destroyed before it runs, the next schedule
// on this thread must post again.
struct pass {
  boost::asio::any_io_executor ex;
  bool ran = false;
  explicit pass(boost::asio::any_io_executor e) : ex(std::move(e)) {}
  pass(pass&& o) noexcept : ex(std::move(o.ex)), ran(std::exchange(o.ran, true)) {}
  ~pass() {
    if (!ran) this_thread_list().posted = false;
  }
  void operator()() {
    ran = true;
    auto& list = this_thread_list();
    if (!list.ready_to_write()) {
      boost::asio::post(ex, pass(ex));
      return;
    }
    list.run();
  }
};

}  // namespace

void schedule_flush(std::shared_ptr<flushable> f, const boost::asio::any_io_executor& ex) {
  auto& list = this_thread_list();
  list.ready.push_back(std::move(f));
  ++list.activity;
  if (list.posted) return;
  list.posted = true;
  list.activity = 0;
  list.turns = 0;
  list.first_mark = clock::now();
  boost::asio::post(ex, pass(ex));
}

void note_output() {
  ++this_thread_list().activity;
}

}  // namespace hubcast::transport

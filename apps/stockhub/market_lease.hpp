// The rules of the market's leadership (market_cluster.hpp), apart from Redis so that they can
// be tested alone: when a leader must stop simulating, and which ticks a node streams.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "tick_codec.hpp"

namespace stockhub {

struct lease_options {
  std::chrono::milliseconds ttl{3000};
  std::chrono::milliseconds renew_interval{1000};
};

// When a leader must stop simulating: its lease may expire `ttl` after the last renewal that
// Redis confirmed, counted from when that renewal was sent (Redis ran it later, so the lease
// lasts at least that long). The leader steps down one renew interval before, so it is off
// before any other node can take over.
class lease_clock {
 public:
  using clock = std::chrono::steady_clock;
  explicit lease_clock(lease_options o) : options_(o) {}
  void confirmed(clock::time_point sent) { last_confirmed_ = sent; }
  bool must_step_down(clock::time_point now) const {
    return now >= last_confirmed_ + options_.ttl - options_.renew_interval / 2;
  }

 private:
  lease_options options_;
  clock::time_point last_confirmed_{};
};

// Which ticks to stream: not our own (streamed when simulated), not a deposed leader's.
class term_fence {
 public:
  enum class verdict { stream, own, stale };
  verdict judge(const market_tick& t, const std::string& self) {
    if (t.node == self) return verdict::own;
    if (t.term < highest_) return verdict::stale;
    highest_ = t.term;
    return verdict::stream;
  }
  void saw(std::int64_t term) { highest_ = std::max(highest_, term); }
  std::int64_t highest() const { return highest_; }

 private:
  std::int64_t highest_ = 0;
};

}  // namespace stockhub

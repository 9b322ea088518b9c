// The scenarios: broadcast (an open-loop ramp, then bisection and latency at 50 %/90 % of the
// maximum), echo (closed loop), idle (RSS per connection by level) and connect (rate).
#include "bench.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <iostream>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/json.hpp>

namespace hubcast_bench {

// One open-loop step at `rate` messages/s for the configured time, then a drain.
asio::awaitable<boost::json::object> bench::broadcast_step(double rate, double seconds) {
  if (seconds <= 0) seconds = c_.step_seconds;
  reset_step();
  auto server0 = sample_processes(c_.server_pids);
  double self0 = self_cpu_seconds();
  auto start = clock_type::now();
  auto duration = std::chrono::duration<double>(seconds);
  auto total = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate * seconds));
  auto interval = std::chrono::duration<double>(1.0 / rate);
  auto& publisher = *conns_.front();
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (stats_.sent < total) {
    auto due = start + std::chrono::duration_cast<clock_type::duration>(
                           interval * static_cast<double>(stats_.sent));
    auto now = clock_type::now();
    if (due > now) {
      t.expires_at(due);
      co_await t.async_wait(asio::use_awaitable);
      continue;
    }
    // Stamped with the intended time: a late publisher shows up as latency.
    auto intended =
        now_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(now - due).count();
    publisher.send(publish_message(intended));
    ++stats_.sent;
  }
  (void)duration;
  auto sent_end = clock_type::now();
  std::uint64_t expected = stats_.sent * conns_.size();
  // Drain: until everything arrived, or nothing came for 500 ms (3 s at most).
  last_delivery_ = clock_type::now();
  while (stats_.delivered < expected && clock_type::now() - last_delivery_ < 500ms &&
         clock_type::now() - sent_end < 3s)
    co_await sleep(5ms);
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  auto server1 = sample_processes(c_.server_pids);
  double self1 = self_cpu_seconds();
  boost::json::object o;
  o["rate"] = rate;
  o["sent"] = stats_.sent;
  o["expected"] = expected;
  o["delivered"] = stats_.delivered;
  o["ratio"] = expected ? static_cast<double>(stats_.delivered) / static_cast<double>(expected) : 0;
  o["deliveries_per_s"] = static_cast<double>(stats_.delivered) / seconds;
  o["p50_ms"] = stats_.latency.percentile_ms(50);
  o["p99_ms"] = stats_.latency.percentile_ms(99);
  o["p999_ms"] = stats_.latency.percentile_ms(99.9);
  o["max_ms"] = stats_.latency.max_ms();
  double server_cpu = server1.cpu_seconds - server0.cpu_seconds;
  o["server_cpu_s"] = server_cpu;
  o["server_cpu_s_per_million"] =
      stats_.delivered ? server_cpu / (static_cast<double>(stats_.delivered) / 1e6) : 0;
  o["server_rss_mib"] = server1.rss_mib;
  o["generator_cpu_share"] = (self1 - self0) / elapsed;
  o["closed_connections"] = closed_;
  co_return o;
}

asio::awaitable<boost::json::object> bench::broadcast() {
  auto t0 = clock_type::now();
  co_await open_many(c_.connections);
  double connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  start_keep_alive();
  co_await sleep(500ms);
  // Warm-up (tiered JIT, GC heaps, caches, socket buffers), not reported.
  co_await broadcast_step(c_.start_rate, c_.warmup_seconds);
  co_await sleep(300ms);
  boost::json::object probe;
  if (c_.probe_rate > 0) {
    probe = co_await broadcast_step(c_.probe_rate);
    co_await sleep(300ms);
  }
  boost::json::array steps;
  boost::json::object best;
  double best_rate = 0;
  double failed_rate = 0;
  auto try_rate = [&](double rate) -> asio::awaitable<bool> {
    auto s = co_await broadcast_step(rate);
    bool ok = s["ratio"].as_double() >= 0.99 && s["p99_ms"].as_double() <= c_.max_p99_ms;
    s["ok"] = ok;
    std::cerr << "broadcast " << c_.connections << " rate " << rate
              << "/s: " << s["deliveries_per_s"].as_double() << " deliveries/s, ratio "
              << s["ratio"].as_double() << ", p99 " << s["p99_ms"].as_double() << " ms\n";
    steps.push_back(s);
    if (ok) {
      best = s;
      best_rate = rate;
    } else {
      failed_rate = rate;
    }
    co_await sleep(300ms);
    co_return ok;
  };
  for (double rate = c_.start_rate; rate <= c_.max_rate; rate *= c_.growth) {
    bool ok = co_await try_rate(rate);
    // One retry: a single latency spike (a GC, a JIT tier-up) must not end the ramp.
    for (int r = 0; !ok && r < c_.retries; ++r) ok = co_await try_rate(rate);
    if (!ok) break;
  }
  // Refine between the last passing and the first failing rate (geometric bisection), so that
  // the reported maximum is not one ramp step coarse.
  for (int i = 0; i < c_.refine && best_rate > 0 && failed_rate > best_rate * 1.05; ++i) {
    double mid = std::sqrt(best_rate * failed_rate);
    co_await try_rate(mid);
  }
  boost::json::object out;
  out["connect_seconds"] = connect_s;
  out["steps"] = steps;
  out["max_sustained"] = best;
  if (c_.probe_rate > 0) out["probe"] = probe;
  if (best_rate > 0) {
    co_await sleep(500ms);
    auto half = co_await broadcast_step(best_rate * 0.5);
    co_await sleep(300ms);
    auto ninety = co_await broadcast_step(best_rate * 0.9);
    out["at_50"] = half;
    out["at_90"] = ninety;
  }
  co_return out;
}

asio::awaitable<boost::json::object> bench::echo() {
  co_await open_many(c_.connections);
  start_keep_alive();
  co_await sleep(300ms);
  // Warm-up round trips, not reported.
  echo_mode_ = true;
  echoing_ = true;
  for (auto& c : conns_) send_echo(*c);
  co_await sleep(500ms);
  echoing_ = false;
  co_await sleep(200ms);
  echo_done_ = 0;
  reset_step();
  echoing_ = true;
  auto server0 = sample_processes(c_.server_pids);
  auto start = clock_type::now();
  for (auto& c : conns_) send_echo(*c);
  co_await sleep(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(c_.seconds)));
  echoing_ = false;
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  auto done = echo_done_;
  auto server1 = sample_processes(c_.server_pids);
  co_await sleep(200ms);
  boost::json::object o;
  o["round_trips"] = done;
  o["round_trips_per_s"] = static_cast<double>(done) / elapsed;
  o["p50_ms"] = stats_.latency.percentile_ms(50);
  o["p99_ms"] = stats_.latency.percentile_ms(99);
  o["p999_ms"] = stats_.latency.percentile_ms(99.9);
  double cpu = server1.cpu_seconds - server0.cpu_seconds;
  o["server_cpu_s_per_million"] = done ? cpu / (static_cast<double>(done) / 1e6) : 0;
  o["server_rss_mib"] = server1.rss_mib;
  co_return o;
}

asio::awaitable<boost::json::object> bench::idle() {
  auto base = sample_processes(c_.server_pids);
  boost::json::array levels;
  auto targets = c_.idle_levels.empty() ? std::vector<std::size_t>{c_.connections} : c_.idle_levels;
  start_keep_alive();
  for (auto n : targets) {
    co_await open_many(n);
    co_await sleep(1500ms);
    auto s = sample_processes(c_.server_pids);
    boost::json::object o;
    o["connections"] = conns_.size();
    o["server_rss_mib"] = s.rss_mib;
    o["kib_per_connection"] =
        conns_.empty() ? 0.0
                       : (s.rss_mib - base.rss_mib) * 1024.0 / static_cast<double>(conns_.size());
    std::cerr << "idle " << conns_.size() << ": " << s.rss_mib << " MiB, "
              << o["kib_per_connection"].as_double() << " KiB/connection\n";
    levels.push_back(o);
  }
  boost::json::object out;
  out["baseline_rss_mib"] = base.rss_mib;
  out["levels"] = levels;
  co_return out;
}

asio::awaitable<boost::json::object> bench::connect_rate() {
  auto server0 = sample_processes(c_.server_pids);
  auto start = clock_type::now();
  co_await open_many(c_.connections);
  double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  auto server1 = sample_processes(c_.server_pids);
  boost::json::object o;
  o["connections"] = conns_.size();
  o["seconds"] = elapsed;
  o["connections_per_s"] = static_cast<double>(conns_.size()) / elapsed;
  o["server_cpu_ms_per_connection"] = conns_.empty()
                                          ? 0.0
                                          : (server1.cpu_seconds - server0.cpu_seconds) * 1000.0 /
                                                static_cast<double>(conns_.size());
  co_return o;
}

}  // namespace hubcast_bench

// The article's workload: N connections each stream StreamStockPrices (subscribed to k symbols
// each, or to none: every symbol), and connection 0, an Admin, sets the server's tick interval
// for each step (SetTickInterval), ramped like broadcast's rate. Latency is receive time minus
// the event's own `timestamp` (the tick's time on the server's clock: the same machine).
#include "bench.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>

#include <boost/json.hpp>

namespace hubcast_bench {

namespace {

std::int64_t system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-12-07T05:02:06.1234567Z" (any number of fraction digits; the zone is taken as UTC: both
// servers write UTC) as nanoseconds since the epoch; -1 when it is not one.
std::int64_t parse_iso_ns(std::string_view s) {
  auto num = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    auto r = std::from_chars(s.data() + at, s.data() + at + n, out);
    return r.ec == std::errc() && r.ptr == s.data() + at + n;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
      !num(17, 2, se))
    return -1;
  using namespace std::chrono;
  auto ymd =
      year_month_day(year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d)));
  if (!ymd.ok()) return -1;
  std::int64_t ns = duration_cast<nanoseconds>(sys_days(ymd).time_since_epoch()).count() +
                    ((h * 60LL + mi) * 60LL + se) * 1'000'000'000LL;
  if (s.size() > 19 && s[19] == '.') {
    std::int64_t scale = 100'000'000;
    for (std::size_t i = 20; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10)
      ns += (s[i] - '0') * scale;
  }
  return ns;
}

std::uint64_t be(std::string_view s, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

// The first MessagePack timestamp (ext type -1) in `m`, as nanoseconds since the epoch; -1 if
// none.
std::int64_t msgpack_timestamp_ns(std::string_view m) {
  for (std::size_t i = 0; i + 2 < m.size(); ++i) {
    auto b = static_cast<unsigned char>(m[i]);
    if (b == 0xd6 && static_cast<unsigned char>(m[i + 1]) == 0xff && i + 6 <= m.size())
      return static_cast<std::int64_t>(be(m, i + 2, 4)) * 1'000'000'000LL;
    if (b == 0xd7 && static_cast<unsigned char>(m[i + 1]) == 0xff && i + 10 <= m.size()) {
      auto v = be(m, i + 2, 8);
      return static_cast<std::int64_t>(v & 0x3ffffffffULL) * 1'000'000'000LL +
             static_cast<std::int64_t>(v >> 34);
    }
    if (b == 0xc7 && i + 3 < m.size() && static_cast<unsigned char>(m[i + 1]) == 12 &&
        static_cast<unsigned char>(m[i + 2]) == 0xff && i + 15 <= m.size())
      return static_cast<std::int64_t>(be(m, i + 7, 8)) * 1'000'000'000LL +
             static_cast<std::int64_t>(be(m, i + 3, 4));
  }
  return -1;
}

}  // namespace

std::size_t bench::symbols_per_connection() const {
  return c_.subscribe ? c_.subscribe : c_.symbols.size();
}

void bench::on_stock_message(connection& c, std::string_view m, std::int64_t now) {
  bool msgpack = c_.protocol == "messagepack";
  int type = -1;
  if (msgpack) {
    if (m.size() >= 2 && (static_cast<unsigned char>(m[0]) & 0xf0) == 0x90)
      type = static_cast<unsigned char>(m[1]);
  } else if (m.rfind("{\"type\":", 0) == 0 && m.size() > 8) {
    type = m[8] - '0';
  }
  if (type == 3 && &c == conns_.front().get()) {  // the control connection's completion
    bool error = false;
    if (msgpack) {
      // [3, {}, "t<n>", resultKind, ...]: resultKind 1 is an error.
      auto u = [&](std::size_t i) { return i < m.size() ? static_cast<unsigned char>(m[i]) : 0; };
      std::size_t id_len = u(3) & 0x1f;
      error = u(2) == 0x80 && (u(3) & 0xe0) == 0xa0 && u(4 + id_len) == 1;
    } else {
      error = m.find("\"error\"") != std::string_view::npos;
    }
    if (error) control_error_ = std::string(m.substr(0, 200));
    ++control_done_;
    return;
  }
  if (type != 2) return;
  std::int64_t ts = -1;
  if (msgpack) {
    ts = msgpack_timestamp_ns(m);
  } else {
    auto at = m.find("\"timestamp\":\"");
    if (at != std::string_view::npos) {
      // A tick's items share their timestamp: parse each text once.
      auto text = m.substr(at + 13, std::min<std::size_t>(40, m.size() - at - 13));
      text = text.substr(0, text.find('"'));
      if (text == last_stamp_text_) {
        ts = last_stamp_ns_;
      } else {
        ts = parse_iso_ns(text);
        last_stamp_text_.assign(text);
        last_stamp_ns_ = ts;
      }
    }
  }
  if (ts < 0) {
    ++unparsed_;
    return;
  }
  if (ts < window_start_sys_ || ts >= window_end_sys_) return;  // a tick of another step
  if (ts > newest_tick_) {  // a tick's first item (a tick's items share its timestamp)
    newest_tick_ = ts;
    ++ticks_seen_;
  }
  ++stats_.delivered;
  stats_.latency.record(now - (ts - clock_offset_));
  last_delivery_ = clock_type::time_point(std::chrono::nanoseconds(now));
}

void bench::on_stock_frame(connection& c, std::string_view frame, std::int64_t now) {
  if (c_.protocol != "messagepack") {
    std::size_t pos = 0;
    while (pos < frame.size()) {
      auto end = frame.find('\x1e', pos);
      if (end == std::string_view::npos) break;
      on_stock_message(c, frame.substr(pos, end - pos), now);
      pos = end + 1;
    }
    return;
  }
  // Binary: each message behind its VarInt length.
  std::size_t pos = 0;
  while (pos < frame.size()) {
    std::uint64_t len = 0;
    int shift = 0;
    bool done = false;
    while (pos < frame.size() && shift < 35) {
      auto b = static_cast<unsigned char>(frame[pos++]);
      len |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) {
        done = true;
        break;
      }
    }
    if (!done || len > frame.size() - pos) return;
    on_stock_message(c, frame.substr(pos, len), now);
    pos += len;
  }
}

asio::awaitable<void> bench::set_tick_interval(double milliseconds) {
  std::string out;
  auto id = "t" + std::to_string(control_sent_++);
  proto_->write_client_invocation(out, false, "SetTickInterval",
                                  hubcast::protocol::payload::arguments(milliseconds), id, {}, {});
  conns_.front()->send(std::make_shared<const std::string>(std::move(out)));
  auto deadline = clock_type::now() + 10s;
  while (control_done_ < control_sent_ && clock_type::now() < deadline) co_await sleep(2ms);
  if (control_done_ < control_sent_) throw std::runtime_error("SetTickInterval: no answer");
  if (!control_error_.empty()) throw std::runtime_error("SetTickInterval: " + control_error_);
}

asio::awaitable<boost::json::object> bench::stocks_step(double rate, double seconds) {
  if (seconds <= 0) seconds = c_.step_seconds;
  double per_tick = static_cast<double>(conns_.size() * symbols_per_connection());
  double interval_ms = std::clamp(per_tick * 1000.0 / rate, 1.0, 60000.0);
  co_await set_tick_interval(interval_ms);
  // The old interval's last wait, then a tick of the new pace, before the window opens.
  co_await sleep(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double, std::milli>(current_interval_ms_ + interval_ms + 200)));
  current_interval_ms_ = interval_ms;
  reset_step();
  auto server0 = sample_processes(c_.server_pids);
  double self0 = self_cpu_seconds();
  window_start_sys_ = system_now_ns();
  window_end_sys_ = std::numeric_limits<std::int64_t>::max();
  newest_tick_ = 0;
  ticks_seen_ = 0;
  auto start = clock_type::now();
  // At least 8 ticks: in a window of a few ticks the count is a matter of phase.
  seconds = std::max(seconds, 8 * interval_ms / 1000.0);
  co_await sleep(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
  window_end_sys_ = system_now_ns();
  auto server1 = sample_processes(c_.server_pids);
  double self1 = self_cpu_seconds();
  double window = static_cast<double>(window_end_sys_ - window_start_sys_) / 1e9;
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  // Drain: the window's ticks still on their way (nothing for 500 ms, 3 s at most).
  auto sent_end = clock_type::now();
  last_delivery_ = sent_end;
  while (clock_type::now() - last_delivery_ < 500ms && clock_type::now() - sent_end < 3s)
    co_await sleep(5ms);
  // The ticks of the window: as many as seen, and at least the whole intervals it spans (a
  // server that skips ticks under load must not lower what it is measured against).
  double ticks =
      std::max(static_cast<double>(ticks_seen_), std::floor(window * 1000.0 / interval_ms));
  double offered = per_tick * ticks;
  boost::json::object o;
  o["rate"] = rate;
  o["tick_interval_ms"] = interval_ms;
  o["expected"] = offered;
  o["ticks"] = ticks;
  o["ticks_seen"] = ticks_seen_;
  o["delivered"] = stats_.delivered;
  o["ratio"] = offered > 0 ? static_cast<double>(stats_.delivered) / offered : 0;
  o["deliveries_per_s"] = static_cast<double>(stats_.delivered) / window;
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
  o["unparsed_items"] = unparsed_;
  co_return o;
}

asio::awaitable<boost::json::object> bench::stocks() {
  if (c_.symbols.empty()) throw std::runtime_error("stocks: give the server's --symbols");
  if (c_.subscribe > c_.symbols.size()) throw std::runtime_error("stocks: --subscribe > symbols");
  clock_offset_ = system_now_ns() - now_ns();
  auto t0 = clock_type::now();
  co_await open_many(c_.connections);
  double connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  start_keep_alive();
  stocks_mode_ = true;
  // Slow ticks while the streams start (the server's configured pace may be fast).
  current_interval_ms_ = 1000;
  co_await set_tick_interval(current_interval_ms_);
  // Subscriptions spread evenly: connection i takes k symbols from (i * k) on, round the list.
  const std::size_t k = c_.subscribe, n = c_.symbols.size();
  for (std::size_t i = 0; i < conns_.size(); ++i) {
    auto& conn = *conns_[i];
    for (std::size_t j = 0; j < k; ++j) {
      std::string out;
      proto_->write_client_invocation(
          out, false, "Subscribe",
          hubcast::protocol::payload::arguments(c_.symbols[(i * k + j) % n]), std::nullopt, {}, {});
      conn.send(std::make_shared<const std::string>(std::move(out)));
    }
    std::string out;
    proto_->write_client_invocation(out, true, "StreamStockPrices",
                                    hubcast::protocol::payload::arguments(), "s", {}, {});
    conn.send(std::make_shared<const std::string>(std::move(out)));
  }
  co_await sleep(1500ms);
  co_await stocks_step(c_.start_rate, c_.warmup_seconds);  // warm-up, not reported
  boost::json::array steps;
  boost::json::object best;
  double best_rate = 0, failed_rate = 0;
  // The article's hub samples the latest tick on a timer of its own: an item can be one interval
  // old when its stream wakes. The limit allows that interval on top of the fan-out's.
  auto try_rate = [&](double rate) -> asio::awaitable<bool> {
    auto s = co_await stocks_step(rate);
    double limit = c_.max_p99_ms + s["tick_interval_ms"].as_double();
    bool ok = s["ratio"].as_double() >= c_.min_ratio && s["p99_ms"].as_double() <= limit;
    s["ok"] = ok;
    s["p99_limit_ms"] = limit;
    std::cerr << "stocks " << conns_.size() << " rate " << rate << "/s (tick "
              << s["tick_interval_ms"].as_double() << " ms): " << s["deliveries_per_s"].as_double()
              << " deliveries/s, ratio " << s["ratio"].as_double() << ", p99 "
              << s["p99_ms"].as_double() << " ms, generator "
              << s["generator_cpu_share"].as_double() << "\n";
    steps.push_back(s);
    if (ok && (best.empty() ||
               s["deliveries_per_s"].as_double() >= best["deliveries_per_s"].as_double())) {
      best = s;
      best_rate = rate;
    } else if (!ok) {
      failed_rate = rate;
    }
    co_return ok;
  };
  // A server at its limit delivers fewer items than the ticker offers, in two ways that keep
  // latency low: stockhub's ticker skips ticks it is late for; the article's hub samples the
  // latest tick per stream on a timer of its own, which slows down. So with --min-ratio 0 the
  // ramp also ends when what is delivered stops growing (two steps under 5 % above the best).
  double top = static_cast<double>(conns_.size() * symbols_per_connection()) * 1000.0;  // 1 ms
  int flat = 0;
  for (double rate = c_.start_rate; rate <= std::min(c_.max_rate, top); rate *= c_.growth) {
    double before = best.empty() ? 0 : best["deliveries_per_s"].as_double();
    bool ok = co_await try_rate(rate);
    for (int r = 0; !ok && r < c_.retries; ++r) ok = co_await try_rate(rate);
    if (!ok) break;
    flat = best["deliveries_per_s"].as_double() > before * 1.05 ? 0 : flat + 1;
    if (flat >= 2) {
      failed_rate = 0;  // nothing to refine: the plateau is the maximum
      break;
    }
  }
  for (int i = 0; i < c_.refine && best_rate > 0 && failed_rate > best_rate * 1.05; ++i)
    co_await try_rate(std::sqrt(best_rate * failed_rate));
  boost::json::object out;
  out["connect_seconds"] = connect_s;
  out["symbols"] = c_.symbols.size();
  out["symbols_per_connection"] = symbols_per_connection();
  out["steps"] = steps;
  out["max_sustained"] = best;
  if (best_rate > 0) out["at_50"] = co_await stocks_step(best_rate * 0.5);
  co_return out;
}

}  // namespace hubcast_bench

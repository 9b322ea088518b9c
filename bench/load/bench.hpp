// The load generator's core (hubcast_bench.cpp has the command line): the configuration, and
// the bench that opens the connections (connecting.cpp), reads every frame from one epoll set
// and runs the scenarios (scenarios.cpp).
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/protocol/payload.hpp>
#include "epoll_reader.hpp"
#include "measure.hpp"
#include "ws_connection.hpp"

namespace hubcast_bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class wire_mode { signalr, socketio, ws };

struct config {
  std::string scenario;
  std::string url;                // one or several, comma-separated (connections split)
  std::vector<std::string> urls;  // parsed from url
  wire_mode mode = wire_mode::signalr;
  std::string mode_name = "signalr";
  std::string protocol = "json";
  std::size_t connections = 1000;
  std::string token;
  bool token_in_query = false;
  bool skip_negotiation = false;
  std::vector<int> server_pids;  // CPU and RSS summed over them (every node of a cluster)
  std::size_t payload_bytes = 64;
  // broadcast
  double start_rate = 10, growth = 1.5, max_rate = 1e6;
  double step_seconds = 3;
  double max_p99_ms = 100;
  int refine = 2;             // bisection steps after the ramp
  double warmup_seconds = 3;  // at the start rate, not reported (JIT tiers, GC, caches)
  int retries = 1;            // a failed ramp step is tried again before the ramp stops
  double probe_rate = 0;      // also report one step at this low rate (fan-out latency when idle)
  double min_ratio = 0.99;    // a step passes with this share of the offered deliveries
  // stocks
  std::vector<std::string> symbols;  // the server's symbols (--symbols)
  std::size_t subscribe = 0;         // symbols each connection subscribes to (0: none, all)
  // echo / idle / connect
  double seconds = 5;
  std::vector<std::size_t> idle_levels;
  std::size_t concurrency = 100;
};

struct step_stats {
  std::uint64_t sent = 0, delivered = 0;
  histogram latency;
};

class bench final : public read_sink {
 public:
  explicit bench(config c) : c_(std::move(c)), proto_(protocol_for(c_)) {}
  ~bench() {
    if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
  }
  bench(const bench&) = delete;
  bench& operator=(const bench&) = delete;

  asio::awaitable<boost::json::object> run() {
    if (c_.scenario == "broadcast") co_return co_await broadcast();
    if (c_.scenario == "echo") co_return co_await echo();
    if (c_.scenario == "idle") co_return co_await idle();
    if (c_.scenario == "connect") co_return co_await connect_rate();
    if (c_.scenario == "stocks") co_return co_await stocks();
    throw std::runtime_error("unknown scenario " + c_.scenario);
  }

  bool on_data(connection& c, std::string_view data, std::int64_t now) override {
    return c.consume(data, [this, &c, now](std::string_view m) { on_frame(c, m, now); });
  }
  void on_closed(connection&) override { ++closed_; }

  // Called for every received frame.
  // `now`: when the read that brought the frame returned (one clock read per read, not per
  // frame or delivery: at millions of deliveries per second the generator's own cost matters).
  void on_frame(connection& c, std::string_view frame, std::int64_t now) {
    if (stocks_mode_) {
      on_stock_frame(c, frame, now);
      return;
    }
    if (c_.mode == wire_mode::socketio && frame == "2") {  // Engine.IO ping
      c.send_frame(connection::frame("3", false));
      return;
    }
    std::size_t pos = 0;
    while ((pos = frame.find("#T", pos)) != std::string_view::npos) {
      pos += 2;
      std::uint64_t step = 0;
      std::int64_t sent = 0;
      auto r1 = std::from_chars(frame.data() + pos, frame.data() + frame.size(), step);
      if (r1.ec != std::errc() || r1.ptr >= frame.data() + frame.size() || *r1.ptr != ':') continue;
      auto r2 = std::from_chars(r1.ptr + 1, frame.data() + frame.size(), sent);
      if (r2.ec != std::errc()) continue;
      pos = static_cast<std::size_t>(r2.ptr - frame.data());
      if (step != step_id_) continue;  // a straggler of an earlier step
      ++stats_.delivered;
      stats_.latency.record(now - sent);
      last_delivery_ = clock_type::time_point(std::chrono::nanoseconds(now));
      if (echo_mode_) {
        ++echo_done_;
        if (echoing_) send_echo(c);
      }
    }
  }

 private:
  static const hubcast::protocol::hub_protocol* protocol_for(const config& c) {
    return &hubcast::protocol::protocol_by_id(c.protocol == "messagepack"
                                                  ? hubcast::protocol::protocol_id::messagepack
                                                  : hubcast::protocol::protocol_id::json);
  }

  std::string marker(std::int64_t sent_ns) const {
    std::string s = "#T" + std::to_string(step_id_) + ":" + std::to_string(sent_ns) + "#";
    if (s.size() < c_.payload_bytes) s.append(c_.payload_bytes - s.size(), '.');
    return s;
  }

  std::shared_ptr<const std::string> publish_message(std::int64_t sent_ns) {
    auto m = marker(sent_ns);
    std::string out;
    switch (c_.mode) {
      case wire_mode::signalr:
        proto_->write_client_invocation(out, false, "Broadcast",
                                        hubcast::protocol::payload::arguments(m), std::nullopt, {},
                                        {});
        break;
      case wire_mode::socketio:
        out = "42[\"broadcast\",\"" + m + "\"]";
        break;
      case wire_mode::ws:
        out = m;
        break;
    }
    return std::make_shared<const std::string>(std::move(out));
  }

  void send_echo(connection& c) {
    auto m = marker(now_ns());
    std::string out;
    auto id = std::to_string(c.next_id++);
    if (c_.mode == wire_mode::signalr)
      proto_->write_client_invocation(out, false, "Echo", hubcast::protocol::payload::arguments(m),
                                      id, {}, {});
    else
      out = "42" + id + "[\"echo\",\"" + m + "\"]";
    ++stats_.sent;
    c.send(std::make_shared<const std::string>(std::move(out)));
  }

  // --- connecting
  std::string ws_url(const std::string& base, const std::string& id) const;

  asio::awaitable<std::shared_ptr<connection>> open_connection();

  // After set-up: the socket leaves Asio for the epoll reader once no Asio write is in flight.
  asio::awaitable<void> hand_over(std::shared_ptr<connection> c);

  // Opens connections until `target` are open, `concurrency` at a time.
  asio::awaitable<void> open_many(std::size_t target);

  void start_keep_alive();
  asio::io_context& ioc() { return *ioc_; }

 public:
  void set_ioc(asio::io_context& i) {
    ioc_ = &i;
    reader_ = std::make_unique<epoll_reader>(i, *this);
  }

 private:
  static asio::awaitable<void> sleep(std::chrono::nanoseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(asio::use_awaitable);
  }

  void reset_step() {
    ++step_id_;
    stats_.sent = 0;
    stats_.delivered = 0;
    stats_.latency = histogram();
  }

  // One open-loop step at `rate` messages/s for the configured time, then a drain.
  asio::awaitable<boost::json::object> broadcast_step(double rate, double seconds = 0);

  asio::awaitable<boost::json::object> broadcast();

  asio::awaitable<boost::json::object> echo();

  asio::awaitable<boost::json::object> idle();

  asio::awaitable<boost::json::object> connect_rate();

  // --- stocks (stocks.cpp)
  asio::awaitable<boost::json::object> stocks();
  asio::awaitable<boost::json::object> stocks_step(double rate, double seconds = 0);
  asio::awaitable<void> set_tick_interval(double milliseconds);
  void on_stock_frame(connection& c, std::string_view frame, std::int64_t now);
  void on_stock_message(connection& c, std::string_view m, std::int64_t now);
  std::size_t symbols_per_connection() const;

 public:
  void close_all() {
    for (auto& c : conns_) {
      reader_->remove(*c);
      c->close();
    }
  }
  std::size_t failures() const { return failures_; }

 private:
  config c_;
  const hubcast::protocol::hub_protocol* proto_;
  asio::io_context* ioc_ = nullptr;
  std::unique_ptr<epoll_reader> reader_;
  std::vector<std::shared_ptr<connection>> conns_;
  std::size_t setup_messages_ = 0;
  std::uint64_t step_id_ = 0;
  step_stats stats_;
  clock_type::time_point last_delivery_;
  bool echo_mode_ = false, echoing_ = false;
  std::uint64_t echo_done_ = 0;
  std::size_t failures_ = 0;
  std::size_t closed_ = 0;
  std::size_t next_url_ = 0;
  // wss:// (created on the first https URL)
  SSL_CTX* tls_client();
  SSL_CTX* ssl_ctx_ = nullptr;
  std::shared_ptr<boost::asio::ssl::context> asio_tls_;  // negotiate over https
  // stocks
  bool stocks_mode_ = false;
  std::int64_t clock_offset_ = 0;  // system_clock - steady_clock, ns
  std::int64_t window_start_sys_ = 0, window_end_sys_ = 0;
  std::int64_t newest_tick_ = 0;  // the newest tick timestamp of the window so far
  std::uint64_t ticks_seen_ = 0;
  double current_interval_ms_ = 0;
  std::uint64_t control_sent_ = 0, control_done_ = 0, unparsed_ = 0;
  std::string control_error_;
  std::string last_stamp_text_;  // the last JSON timestamp parsed, and its value
  std::int64_t last_stamp_ns_ = -1;
};

}  // namespace hubcast_bench

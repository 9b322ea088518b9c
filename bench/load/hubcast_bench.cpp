// hubcast-bench: the load generator of bench/run. One Asio thread (pin it to its own core),
// WebSocket connections spoken on the socket (set up with Asio, then read from one epoll set:
// epoll_reader.hpp), and four wire modes so that every peer gets the same
// workload: SignalR (JSON or MessagePack; hubcast and ASP.NET Core), Socket.IO (Engine.IO v4
// over WebSocket), and raw WebSocket text (the Node `ws` floor and the bare-kernel ceiling).
//
// Every measured message carries "#T<step>:<intended send time in ns>#": receivers find it by
// scanning the frame, whatever the framing, and latency is receive time minus the *intended*
// send time of an open-loop schedule (no coordinated omission).
//
// Scenarios (results as one JSON object on stdout):
//   broadcast  N subscribers; connection 0 publishes to all at a rate ramped until deliveries
//              fall under 99 % or p99 exceeds the limit; then latency at 50 % and 90 % of the
//              best rate
//   echo       N connections in closed loop invoking Echo
//   idle       server RSS per connection at growing numbers of idle connections
//   connect    connections per second through negotiate + WebSocket + handshake
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "auth/jwt.hpp"
#include "client/http_client.hpp"
#include "epoll_reader.hpp"
#include "measure.hpp"
#include "protocol/hub_protocol.hpp"
#include "protocol/payload.hpp"
#include "ws_connection.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace hubcast_bench {

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

  asio::awaitable<boost::json::object> run() {
    if (c_.scenario == "broadcast") co_return co_await broadcast();
    if (c_.scenario == "echo") co_return co_await echo();
    if (c_.scenario == "idle") co_return co_await idle();
    if (c_.scenario == "connect") co_return co_await connect_rate();
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
  std::string ws_url(const std::string& base, const std::string& id) const {
    boost::urls::url u(*boost::urls::parse_uri(base));
    u.set_scheme(u.scheme() == "https" ? "wss" : "ws");
    if (c_.mode == wire_mode::socketio) {
      u.set_encoded_path("/socket.io/");
      u.params().set("EIO", "4");
      u.params().set("transport", "websocket");
    }
    if (!id.empty()) u.params().set("id", id);
    if (c_.token_in_query && !c_.token.empty()) u.params().set("access_token", c_.token);
    return std::string(u.buffer());
  }

  asio::awaitable<std::shared_ptr<connection>> open_connection() {
    // Round robin over the servers: with several, the clients are split evenly across them.
    const std::string base = c_.urls[next_url_++ % c_.urls.size()];
    auto ex = co_await asio::this_coro::executor;
    auto& ioc = static_cast<asio::io_context&>(ex.context());
    std::string id;
    hubcast::protocol::header_map headers;
    if (!c_.token.empty() && !c_.token_in_query)
      headers.emplace_back("Authorization", "Bearer " + c_.token);
    if (c_.mode == wire_mode::signalr && !c_.skip_negotiation) {
      boost::urls::url nu(*boost::urls::parse_uri(base));
      nu.set_encoded_path(std::string(nu.encoded_path()) + "/negotiate");
      nu.params().set("negotiateVersion", "1");
      if (c_.token_in_query && !c_.token.empty()) nu.params().set("access_token", c_.token);
      auto res = co_await hubcast::client::http_request(ex, nullptr, std::string(nu.buffer()),
                                                        "POST", headers, {}, 30s);
      if (res.status != 200) throw std::runtime_error("negotiate: " + std::to_string(res.status));
      auto v = boost::json::parse(res.body);
      id = std::string(v.at("connectionToken").as_string());
    }
    auto url = ws_url(base, id);
    boost::urls::url u(*boost::urls::parse_uri(url));
    auto conn = std::make_shared<connection>(ioc);
    conn->owner = this;
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(std::string(u.encoded_host()),
                                                     std::string(u.port()), asio::use_awaitable);
    co_await asio::async_connect(conn->sock, endpoints, asio::use_awaitable);
    conn->sock.set_option(tcp::no_delay(true));
    std::string request = "GET " + std::string(u.encoded_target()) +
                          " HTTP/1.1\r\nHost: " + std::string(u.encoded_host()) + ":" +
                          std::string(u.port()) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\nUser-Agent: hubcast-bench\r\n";
    for (auto& [k, v] : headers) request += k + ": " + v + "\r\n";
    request += "\r\n";
    co_await asio::async_write(conn->sock, asio::buffer(request), asio::use_awaitable);
    std::string head;
    auto n = co_await asio::async_read_until(conn->sock, asio::dynamic_buffer(head), "\r\n\r\n",
                                             asio::use_awaitable);
    if (head.compare(0, 12, "HTTP/1.1 101") != 0)
      throw std::runtime_error("upgrade refused: " + head.substr(0, head.find('\r')));
    conn->open = true;
    conn->binary = c_.mode == wire_mode::signalr && c_.protocol == "messagepack";
    auto collect = [&conn](std::string_view m) { conn->setup_messages.emplace_back(m); };
    if (head.size() > n) conn->consume(std::string_view(head).substr(n), collect);
    auto next_message = [&conn, collect]() -> asio::awaitable<std::string> {
      char chunk[4096];
      while (conn->setup_messages.empty()) {
        auto got = co_await conn->sock.async_read_some(asio::buffer(chunk), asio::use_awaitable);
        if (!conn->consume(std::string_view(chunk, got), collect))
          throw std::runtime_error("closed during setup");
      }
      std::string m = std::move(conn->setup_messages.front());
      conn->setup_messages.pop_front();
      co_return m;
    };
    if (c_.mode == wire_mode::signalr) {
      std::string hs = "{\"protocol\":\"" + c_.protocol + "\",\"version\":1}\x1e";
      conn->send_frame(connection::frame(hs, false));
      std::string got = co_await next_message();
      auto end = got.find('\x1e');
      if (end == std::string::npos || got.substr(0, end).find("error") != std::string::npos)
        throw std::runtime_error("handshake: " + got.substr(0, end));
    } else if (c_.mode == wire_mode::socketio) {
      co_await next_message();  // "0{...}" open
      std::string connect = c_.token.empty() ? "40" : "40{\"token\":\"" + c_.token + "\"}";
      conn->send_frame(connection::frame(connect, false));
      std::string reply = co_await next_message();
      if (reply.rfind("40", 0) != 0) throw std::runtime_error("socket.io connect: " + reply);
    }
    setup_messages_ += conn->setup_messages.size();
    conn->setup_messages.clear();
    co_return conn;
  }

  // After set-up: the socket leaves Asio for the epoll reader once no Asio write is in flight.
  asio::awaitable<void> hand_over(std::shared_ptr<connection> c) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (c->busy) {
      t.expires_after(1ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    c->release();
    reader_->add(*c);
    c->on_writable();  // anything queued meanwhile
  }

  // Opens connections until `target` are open, `concurrency` at a time.
  asio::awaitable<void> open_many(std::size_t target) {
    auto ex = co_await asio::this_coro::executor;
    std::size_t in_flight = 0, failures = 0;
    asio::steady_timer wait(ex);
    while (conns_.size() + in_flight < target || in_flight > 0) {
      while (conns_.size() + in_flight < target && in_flight < c_.concurrency) {
        ++in_flight;
        asio::co_spawn(
            ex, open_connection(),
            [this, &in_flight, &failures](std::exception_ptr e, std::shared_ptr<connection> c) {
              --in_flight;
              if (e) {
                ++failures;
                try {
                  std::rethrow_exception(e);
                } catch (const std::exception& x) {
                  if (failures <= 3) std::cerr << "connect failed: " << x.what() << "\n";
                }
                return;
              }
              conns_.push_back(c);
              asio::co_spawn(c->sock.get_executor(), hand_over(c), asio::detached);
            });
      }
      if (failures > target / 100 + 10) throw std::runtime_error("too many connection failures");
      wait.expires_after(1ms);
      co_await wait.async_wait(asio::use_awaitable);
    }
    failures_ += failures;
  }

  void start_keep_alive() {
    if (c_.mode != wire_mode::signalr) return;
    std::string ping;
    proto_->write_ping(ping);
    auto bytes = std::make_shared<const std::string>(std::move(ping));
    asio::co_spawn(
        ioc(),
        [this, bytes]() -> asio::awaitable<void> {
          asio::steady_timer t(co_await asio::this_coro::executor);
          for (;;) {
            t.expires_after(10s);
            co_await t.async_wait(asio::use_awaitable);
            for (auto& c : conns_) c->send(bytes);
          }
        },
        asio::detached);
  }
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
  asio::awaitable<boost::json::object> broadcast_step(double rate, double seconds = 0) {
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
    o["ratio"] =
        expected ? static_cast<double>(stats_.delivered) / static_cast<double>(expected) : 0;
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

  asio::awaitable<boost::json::object> broadcast() {
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

  asio::awaitable<boost::json::object> echo() {
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

  asio::awaitable<boost::json::object> idle() {
    auto base = sample_processes(c_.server_pids);
    boost::json::array levels;
    auto targets =
        c_.idle_levels.empty() ? std::vector<std::size_t>{c_.connections} : c_.idle_levels;
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

  asio::awaitable<boost::json::object> connect_rate() {
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
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hubcast_bench

using namespace hubcast_bench;

int main(int argc, char** argv) {
  CLI::App cli{"hubcast-bench: load generator (see bench/run)"};
  config c;
  std::string hs256_key, rs256_private, levels;
  cli.add_option("scenario", c.scenario, "broadcast | echo | idle | connect")->required();
  cli.add_option("--url", c.url,
                 "hub URL, e.g. http://127.0.0.1:5000/hubs/bench; several, comma-separated: "
                 "connections split across them (the publisher is the first to connect)")
      ->required();
  cli.add_option("--mode", c.mode_name, "signalr | socketio | ws")->capture_default_str();
  cli.add_option("--protocol", c.protocol, "json | messagepack (signalr)")->capture_default_str();
  cli.add_option("--connections", c.connections)->capture_default_str();
  cli.add_option("--token", c.token, "bearer token");
  cli.add_option("--hs256-key", hs256_key, "mint an HS256 token with this key");
  cli.add_option("--rs256-private-key", rs256_private, "mint an RS256 token with this PEM key");
  cli.add_flag("--token-in-query", c.token_in_query, "access_token query parameter");
  cli.add_flag("--skip-negotiation", c.skip_negotiation);
  cli.add_option("--server-pid", c.server_pids,
                 "measure this process's CPU and RSS (repeat: summed over several)");
  cli.add_option("--payload-bytes", c.payload_bytes)->capture_default_str();
  cli.add_option("--start-rate", c.start_rate)->capture_default_str();
  cli.add_option("--growth", c.growth)->capture_default_str();
  cli.add_option("--max-rate", c.max_rate)->capture_default_str();
  cli.add_option("--step-seconds", c.step_seconds)->capture_default_str();
  cli.add_option("--max-p99-ms", c.max_p99_ms)->capture_default_str();
  cli.add_option("--warmup-seconds", c.warmup_seconds)->capture_default_str();
  cli.add_option("--retries", c.retries, "tries again of a failed ramp step")
      ->capture_default_str();
  cli.add_option("--probe-rate", c.probe_rate, "broadcast: one reported step at this low rate");
  cli.add_option("--refine", c.refine, "bisection steps between the last good and first bad rate")
      ->capture_default_str();
  cli.add_option("--seconds", c.seconds)->capture_default_str();
  cli.add_option("--levels", levels, "idle: comma-separated connection counts");
  cli.add_option("--concurrency", c.concurrency)->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  c.mode = c.mode_name == "socketio" ? wire_mode::socketio
           : c.mode_name == "ws"     ? wire_mode::ws
                                     : wire_mode::signalr;
  {
    std::stringstream us(c.url);
    for (std::string x; std::getline(us, x, ',');)
      if (!x.empty()) c.urls.push_back(x);
    if (c.urls.empty()) {
      std::cerr << "hubcast-bench: --url is empty\n";
      return 2;
    }
  }
  std::stringstream ls(levels);
  for (std::string x; std::getline(ls, x, ',');)
    if (!x.empty()) c.idle_levels.push_back(std::stoul(x));

  try {
    boost::json::object claims;
    claims["sub"] = "bench";
    claims["iss"] = "bench";
    claims["aud"] = "bench";
    if (!hs256_key.empty())
      c.token = hubcast::auth::issue_jwt(claims, hubcast::auth::jwt_alg::hs256,
                                         hubcast::auth::jwt_key::symmetric(hs256_key), 3600s);
    else if (!rs256_private.empty())
      c.token = hubcast::auth::issue_jwt(claims, hubcast::auth::jwt_alg::rs256,
                                         hubcast::auth::jwt_key::from_pem(read_file(rs256_private)),
                                         3600s);
  } catch (const std::exception& e) {
    std::cerr << "hubcast-bench: " << e.what() << "\n";
    return 2;
  }

  asio::io_context ioc(1);
  bench b(c);
  b.set_ioc(ioc);
  int rc = 0;
  asio::co_spawn(ioc, b.run(), [&](std::exception_ptr e, boost::json::object result) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::cerr << "hubcast-bench: " << x.what() << "\n";
      }
      rc = 1;
    } else {
      result["scenario"] = c.scenario;
      result["mode"] = c.mode_name;
      result["protocol"] = c.protocol;
      result["connections"] = c.connections;
      result["connect_failures"] = b.failures();
      std::cout << boost::json::serialize(result) << std::endl;
    }
    b.close_all();
    ioc.stop();
  });
  ioc.run();
  return rc;
}

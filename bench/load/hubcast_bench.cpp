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
//   stocks     N connections each streaming StreamStockPrices (stocks.cpp); the server's tick
//              interval ramped through the Admin method SetTickInterval
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <hubcast/auth/jwt.hpp>
#include "bench.hpp"

namespace hubcast_bench {

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
  std::string hs256_key, rs256_private, levels, symbols;
  cli.add_option("scenario", c.scenario, "broadcast | echo | idle | connect | stocks")->required();
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
  cli.add_option("--min-ratio", c.min_ratio, "share of the offered deliveries a step must deliver")
      ->capture_default_str();
  cli.add_option("--symbols", symbols, "stocks: the server's symbols, comma-separated");
  cli.add_option("--subscribe", c.subscribe,
                 "stocks: symbols each connection subscribes to (0: none, every symbol)")
      ->capture_default_str();
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
  {
    std::stringstream ss(symbols);
    for (std::string x; std::getline(ss, x, ',');)
      if (!x.empty()) c.symbols.push_back(x);
  }
  std::stringstream ls(levels);
  for (std::string x; std::getline(ls, x, ',');)
    if (!x.empty()) c.idle_levels.push_back(std::stoul(x));

  try {
    boost::json::object claims;
    claims["sub"] = "bench";
    claims["iss"] = "bench";
    claims["aud"] = "bench";
    // stocks: connection 0 paces the server's ticker (SetTickInterval is Admin-only).
    if (c.scenario == "stocks") claims["role"] = "Admin";
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

// stockhub-cli: the article's .NET console client, in C++ on hubcast's client library.
//
//   stockhub-cli --url http://localhost:5000 --email E --password-stdin
//                [--symbols MSFT,AAPL] [--protocol json|messagepack] [--transport ws|lp]
//
// Logs in, connects with the token (refreshed before it expires, re-login if the refresh token
// is refused), subscribes, prints `SYMBOL price time` for every streamed price and
// `System: ...` for system messages, reconnects automatically, exits cleanly on Ctrl-C.
#include <csignal>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/class.hpp>
#include <boost/json.hpp>

#include <hubcast/client/http_client.hpp>
#include <hubcast/client/hub_connection.hpp>

namespace asio = boost::asio;
namespace hc = hubcast::client;

namespace {

struct stock_price_event {
  std::string id;
  std::string symbol;
  hubcast::decimal price;
  hubcast::date_time timestamp;
};
BOOST_DESCRIBE_STRUCT(stock_price_event, (), (id, symbol, price, timestamp))

struct options_t {
  std::string url = "http://localhost:5000";
  std::string email;
  std::string password;
  std::vector<std::string> symbols;
  std::string protocol = "json";
  std::string transport = "ws";
  bool insecure = false;
  std::string ca_file;
};

// Access and refresh tokens; the access token is renewed a minute before it expires.
class session {
 public:
  session(asio::any_io_executor ex, options_t o, std::shared_ptr<asio::ssl::context> tls)
      : ex_(ex), o_(std::move(o)), tls_(std::move(tls)) {}

  asio::awaitable<std::string> token() {
    auto now = std::chrono::system_clock::now();
    if (access_.empty() || now + std::chrono::minutes(1) >= expires_) {
      bool renewed = false;
      if (!refresh_.empty()) renewed = co_await call("/api/refresh", refresh_body());
      if (!renewed && !co_await call("/api/login", login_body()))
        throw std::runtime_error("login failed: " + last_error_);
    }
    co_return access_;
  }

  asio::awaitable<void> logout() {
    if (refresh_.empty()) co_return;
    try {
      // (g++ 12: no braced lists inside a co_await expression.)
      hubcast::protocol::header_map headers = json_headers();
      std::string url = o_.url + "/api/logout";
      std::string body = refresh_body();
      co_await hc::http_request(ex_, tls_, std::move(url), "POST", std::move(headers),
                                std::move(body), std::chrono::seconds(5));
    } catch (const std::exception&) {
    }
  }

 private:
  static hubcast::protocol::header_map json_headers() {
    return {{"Content-Type", "application/json"}};
  }
  std::string login_body() const {
    boost::json::object b;
    b["email"] = o_.email;
    b["password"] = o_.password;
    return boost::json::serialize(b);
  }
  std::string refresh_body() const {
    boost::json::object b;
    b["refreshToken"] = refresh_;
    return boost::json::serialize(b);
  }

  asio::awaitable<bool> call(std::string path, std::string body) {
    hubcast::protocol::header_map headers = json_headers();
    std::string url = o_.url + path;
    auto res = co_await hc::http_request(ex_, tls_, std::move(url), "POST", std::move(headers),
                                         std::move(body), std::chrono::seconds(30));
    if (res.status != 200) {
      last_error_ = std::to_string(res.status) + " " + res.reason;
      co_return false;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object()) {
      last_error_ = "unexpected reply";
      co_return false;
    }
    auto& o = v.as_object();
    auto tok = o.if_contains("token");
    auto ref = o.if_contains("refreshToken");
    auto exp = o.if_contains("expiresAt");
    if (!tok || !tok->is_string() || !ref || !ref->is_string() || !exp || !exp->is_string()) {
      last_error_ = "unexpected reply";
      co_return false;
    }
    access_ = std::string(tok->get_string());
    refresh_ = std::string(ref->get_string());
    try {
      expires_ = hubcast::codec_detail::parse_date_time(exp->get_string());
    } catch (const std::exception&) {
      expires_ = std::chrono::system_clock::now() + std::chrono::minutes(5);
    }
    co_return true;
  }

  asio::any_io_executor ex_;
  options_t o_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::string access_, refresh_, last_error_;
  std::chrono::system_clock::time_point expires_;
};

std::string clock_time(hubcast::date_time t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto day = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::hh_mm_ss hms(secs - day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string money(const hubcast::decimal& d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", d.to_double());
  return buf;
}

asio::awaitable<int> run(options_t o) {
  auto ex = co_await asio::this_coro::executor;
  bool secure = o.url.rfind("https:", 0) == 0;
  std::shared_ptr<asio::ssl::context> tls;
  if (secure) tls = hc::make_tls_context(!o.insecure, o.ca_file);
  auto auth = std::make_shared<session>(ex, o, tls);

  hc::hub_connection_builder builder;
  builder
      .with_url(o.url + "/hubs/stocks", o.transport == "lp" ? unsigned(hc::long_polling)
                                        : o.transport == "ws"
                                            ? unsigned(hc::websockets)
                                            : unsigned(hc::websockets | hc::long_polling))
      .with_access_token_provider([auth]() { return auth->token(); })
      .with_automatic_reconnect()
      .with_hub_protocol(o.protocol == "messagepack" ? hubcast::protocol::protocol_id::messagepack
                                                     : hubcast::protocol::protocol_id::json)
      .with_tls(!o.insecure, o.ca_file);
  auto conn = builder.build(ex);

  conn->on("SystemMessage", [](std::string m) { std::cout << "System: " << m << std::endl; });
  conn->on("Subscribed", [](std::string s) { std::cerr << "Subscribed to " << s << std::endl; });
  conn->on("Error", [](std::string m) { std::cerr << "Hub error: " << m << std::endl; });

  // The stream restarts after every reconnect (a stream does not survive its connection).
  auto stream_prices = [&conn, o]() -> asio::awaitable<void> {
    for (const auto& s : o.symbols) co_await conn->invoke("Subscribe", s);
    auto prices = conn->stream<stock_price_event>("StreamStockPrices");
    try {
      while (auto p = co_await prices.next())
        std::cout << p->symbol << " " << money(p->price) << " " << clock_time(p->timestamp)
                  << std::endl;
    } catch (const std::exception& e) {
      if (conn->state() == hc::connection_state::connected)
        std::cerr << "Stream ended: " << e.what() << std::endl;
    }
  };

  asio::steady_timer done(ex);
  done.expires_at(asio::steady_timer::time_point::max());
  int exit_code = 0;
  bool stopping = false;
  conn->on_reconnecting([](std::optional<std::string> e) {
    std::cerr << "Reconnecting" << (e ? ": " + *e : std::string()) << std::endl;
  });
  conn->on_reconnected([&](std::optional<std::string>) {
    std::cerr << "Reconnected" << std::endl;
    asio::co_spawn(ex, stream_prices(), asio::detached);
  });
  conn->on_closed([&](std::optional<std::string> e) {
    // When stopping, the Ctrl-C path ends run() itself once it has logged out: run()'s locals
    // must outlive that coroutine.
    if (stopping) return;
    std::cerr << "Disconnected" << (e ? ": " + *e : std::string()) << std::endl;
    exit_code = 1;
    done.cancel();
  });

  asio::signal_set signals(ex, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    stopping = true;
    std::cerr << "Stopping" << std::endl;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          co_await conn->stop();
          co_await auth->logout();
          done.cancel();
        },
        asio::detached);
  });

  try {
    co_await conn->start();
  } catch (const std::exception& e) {
    std::cerr << "stockhub-cli: cannot connect: " << e.what() << std::endl;
    co_return 1;
  }
  std::cerr << "Connected to hub (" << conn->transport_name() << ", " << o.protocol << ")"
            << std::endl;
  asio::co_spawn(ex, stream_prices(), asio::detached);
  co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
  signals.cancel();
  co_return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"stockhub-cli: stream stock prices from a stockhub server"};
  cli.set_version_flag("--version", std::string("stockhub-cli ") + HUBCAST_VERSION);
  options_t o;
  bool password_stdin = false;
  std::string symbols;
  cli.add_option("--url", o.url, "server base URL")->capture_default_str();
  cli.add_option("--email", o.email, "account e-mail")->required();
  cli.add_flag("--password-stdin", password_stdin, "read the password from standard input");
  cli.add_option("--symbols", symbols, "comma-separated symbols (default: all)");
  cli.add_option("--protocol", o.protocol, "json or messagepack")
      ->check(CLI::IsMember({"json", "messagepack"}))
      ->capture_default_str();
  cli.add_option("--transport", o.transport, "ws, lp or auto")
      ->check(CLI::IsMember({"ws", "lp", "auto"}))
      ->capture_default_str();
  cli.add_option("--ca-file", o.ca_file, "PEM file of the CA that signed the server's certificate");
  cli.add_flag("--insecure", o.insecure, "do not verify the server's TLS certificate");
  CLI11_PARSE(cli, argc, argv);
  if (!password_stdin) {
    std::cerr << "stockhub-cli: the password is read from standard input: pass --password-stdin\n";
    return 2;
  }
  if (!std::getline(std::cin, o.password) || o.password.empty()) {
    std::cerr << "stockhub-cli: no password on standard input\n";
    return 2;
  }
  if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
  std::stringstream ss(symbols);
  for (std::string s; std::getline(ss, s, ',');)
    if (!s.empty()) o.symbols.push_back(s);
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();

  asio::io_context ioc;
  int code = 1;
  asio::co_spawn(ioc, run(std::move(o)), [&](std::exception_ptr e, int rc) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "stockhub-cli: " << ex.what() << std::endl;
      }
      code = 1;
    } else {
      code = rc;
    }
  });
  ioc.run();
  return code;
}

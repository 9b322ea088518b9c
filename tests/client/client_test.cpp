// The C++ client against hubcast-conformance over real loopback sockets: every message type,
// both stream directions, client results, errors, auth, redirects, automatic and stateful
// reconnect, for each transport × protocol pair.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/describe/class.hpp>

#include <hubcast/client/blocking.hpp>
#include <hubcast/client/http_client.hpp>
#include <hubcast/client/hub_connection.hpp>
#include "contract.hpp"
#include "test_support.hpp"

namespace asio = boost::asio;
namespace hc = hubcast::client;
using hubcast::protocol::protocol_id;
using hubcast::test::run_async;
using hubcast::test::server_process;
using hubcast::test::sleep_for;
using namespace std::chrono_literals;

using test_contract::complex_object;
using test_contract::custom_object;

namespace {

server_process& conformance() {
  static server_process server("hubcast-conformance", {});
  return server;
}

struct pair_param {
  protocol_id protocol;
  unsigned transport;
  const char* name;
};

std::unique_ptr<hc::hub_connection> make(
    asio::any_io_executor ex, const pair_param& p, const std::string& path = "/testhub",
    std::function<void(hc::hub_connection_builder&)> more = {}) {
  hc::hub_connection_builder b;
  b.with_url(conformance().url() + path, p.transport).with_hub_protocol(p.protocol);
  if (more) more(b);
  return b.build(ex);
}

// Resolves when called: a one-shot signal for handler tests.
template <class T>
struct latch {
  std::optional<T> value;
  asio::awaitable<T> wait() {
    for (int i = 0; i < 500 && !value; ++i) co_await sleep_for(10ms);
    if (!value) throw std::runtime_error("latch: nothing arrived");
    co_return *value;
  }
};

asio::awaitable<std::string> http_get(std::string url) {
  auto ex = co_await asio::this_coro::executor;
  auto res = co_await hc::http_request(ex, nullptr, std::move(url), "GET", {}, {}, 10s);
  co_return res.body;
}

class ClientMatrix : public ::testing::TestWithParam<pair_param> {};

}  // namespace

TEST_P(ClientMatrix, InvokesSendsAndHandlesServerCalls) {
  auto p = GetParam();
  run_async([p]() -> asio::awaitable<void> {
    auto conn = make(co_await asio::this_coro::executor, p);
    latch<std::string> message;
    latch<custom_object> custom;
    conn->on("Message", [&](std::string m) { message.value = m; });
    conn->on("CustomObject", [&](custom_object o) { custom.value = o; });
    co_await conn->start();
    EXPECT_EQ(conn->state(), hc::connection_state::connected);
    EXPECT_EQ(co_await conn->invoke<std::string>("Echo", std::string("hello")), "hello");
    EXPECT_EQ(co_await conn->invoke<std::string>("GetActiveTransportName"),
              p.transport == hc::websockets ? "WebSockets" : "LongPolling");
    EXPECT_EQ(conn->transport_name(), p.transport == hc::websockets ? "WebSockets" : "LongPolling");
    EXPECT_EQ(co_await conn->invoke<std::string>("GetCallerConnectionId"), conn->connection_id());
    EXPECT_EQ(co_await conn->invoke<std::optional<std::string>>("GetCookie", std::string("none")),
              std::nullopt);

    std::string error;
    try {
      co_await conn->invoke("ThrowException", std::string("boom"));
    } catch (const hc::hub_exception& e) {
      error = e.what();
    }
    EXPECT_EQ(error,
              "An unexpected error occurred invoking 'ThrowException' on the server. "
              "InvalidOperationException: boom");

    co_await conn->invoke("InvokeWithString", std::string("from the server"));
    EXPECT_EQ(co_await message.wait(), "from the server");
    // (g++ 12: no braced temporaries inside a co_await full-expression.)
    custom_object widget{"widget", 42};
    co_await conn->send("SendCustomObject", widget);
    auto got = co_await custom.wait();
    EXPECT_EQ(got.Name, "widget");
    EXPECT_EQ(got.Value, 42);

    auto fixed = co_await conn->invoke<complex_object>("SendComplexObject");
    EXPECT_EQ(fixed.String, "hello world");
    EXPECT_EQ(fixed.IntArray, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(fixed.ByteArray.data, (std::vector<std::uint8_t>{1, 2, 3}));
    EXPECT_EQ(fixed.Guid, "00010203-0405-0607-0706-050403020100");
    EXPECT_EQ(hubcast::codec_detail::format_date_time(fixed.DateTime), "2000-01-01T00:00:00Z");
    complex_object sent{"ünïcode ✓", {-1, 0, 2147483647}, {{0, 255, 7}}, "g", fixed.DateTime};
    auto echoed = co_await conn->invoke<complex_object>("EchoComplexObject", sent);
    EXPECT_EQ(echoed.String, sent.String);
    EXPECT_EQ(echoed.IntArray, sent.IntArray);
    EXPECT_EQ(echoed.ByteArray, sent.ByteArray);
    EXPECT_EQ(echoed.DateTime, sent.DateTime);

    co_await conn->stop();
    EXPECT_EQ(conn->state(), hc::connection_state::disconnected);
  }());
}

TEST_P(ClientMatrix, StreamsInBothDirections) {
  auto p = GetParam();
  run_async([p]() -> asio::awaitable<void> {
    auto conn = make(co_await asio::this_coro::executor, p);
    latch<bool> canceled;
    conn->on("StreamCanceled", [&]() { canceled.value = true; });
    co_await conn->start();

    std::vector<std::string> items;
    auto s = conn->stream<std::string>("Stream");
    while (auto item = co_await s.next()) items.push_back(*item);
    EXPECT_EQ(items, (std::vector<std::string>{"a", "b", "c"}));

    auto empty = conn->stream<int>("EmptyStream");
    EXPECT_EQ(co_await empty.next(), std::nullopt);

    auto failing = conn->stream<std::string>("StreamThrowException", std::string("bad"));
    std::string error;
    try {
      co_await failing.next();
    } catch (const hc::hub_exception& e) {
      error = e.what();
    }
    EXPECT_EQ(error,
              "An unexpected error occurred invoking 'StreamThrowException' on the server. "
              "InvalidOperationException: bad");

    // Upload: the call is sent at once, the items follow, the result comes at the end.
    hc::upload_stream<std::string> up;
    auto concat = conn->invoke<std::string>("StreamingConcat", up);
    for (const char* x : {"x", "y", "z"}) co_await up.write(x);
    co_await up.complete();
    EXPECT_EQ(co_await std::move(concat), "xyz");

    // An upload completed with an error fails the server method with that error.
    hc::upload_stream<std::string> bad;
    auto failed = conn->invoke<std::string>("StreamingConcat", bad);
    co_await bad.write("x");
    co_await bad.complete("client gave up");
    error.clear();
    try {
      co_await std::move(failed);
    } catch (const hc::hub_exception& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("client gave up"), std::string::npos) << error;

    // Cancelling a server stream reaches the hub.
    {
      auto infinite = conn->stream<std::string>("InfiniteStream");
      co_await sleep_for(100ms);
      infinite.cancel();
      EXPECT_EQ(co_await infinite.next(), std::nullopt);
    }
    EXPECT_TRUE(co_await canceled.wait());
    // The connection is still usable.
    EXPECT_EQ(co_await conn->invoke<std::string>("Echo", std::string("after")), "after");
    co_await conn->stop();
  }());
}

TEST_P(ClientMatrix, AnswersClientResults) {
  auto p = GetParam();
  run_async([p]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, p);
    conn->on("Result", []() { return 42; });
    co_await conn->start();
    EXPECT_EQ(co_await http_get(conformance().url() + "/clientresult/" + *conn->connection_id()),
              "42");
    co_await conn->stop();

    // An awaitable handler, and one that throws.
    auto slow = make(ex, p);
    slow->on("Result", []() -> asio::awaitable<int> {
      co_await sleep_for(50ms);
      co_return 7;
    });
    co_await slow->start();
    EXPECT_EQ(co_await http_get(conformance().url() + "/clientresult/" + *slow->connection_id()),
              "7");
    co_await slow->stop();

    auto throwing = make(ex, p);
    throwing->on("Result", []() -> int { throw std::runtime_error("from callback"); });
    co_await throwing->start();
    EXPECT_EQ(
        co_await http_get(conformance().url() + "/clientresult/" + *throwing->connection_id()),
        "Error: from callback");
    co_await throwing->stop();

    auto none = make(ex, p);
    co_await none->start();
    EXPECT_EQ(co_await http_get(conformance().url() + "/clientresult/" + *none->connection_id()),
              "Client didn't provide a result.");
    co_await none->stop();
  }());
}

TEST_P(ClientMatrix, AuthenticatesWithTheTokenProvider) {
  auto p = GetParam();
  run_async([p]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    int calls = 0;
    auto conn = make(ex, p, "/authorizedhub", [&](hc::hub_connection_builder& b) {
      b.with_access_token_provider([&calls]() -> asio::awaitable<std::string> {
        ++calls;
        co_return co_await http_get(conformance().url() + "/generateJwtToken");
      });
    });
    co_await conn->start();
    EXPECT_GE(calls, 1);
    EXPECT_EQ(co_await conn->invoke<std::string>("Echo", std::string("secured")), "secured");
    co_await conn->stop();

    auto anonymous = make(ex, p, "/authorizedhub");
    std::string error;
    try {
      co_await anonymous->start();
    } catch (const hc::connection_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error,
              "Failed to complete negotiation with the server: Error: Unauthorized: Status code "
              "'401'");
    EXPECT_EQ(anonymous->state(), hc::connection_state::disconnected);
  }());
}

TEST_P(ClientMatrix, RefreshesItsTokenWithoutReconnecting) {
  auto p = GetParam();
  run_async([p]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    int issued = 0;
    auto conn = make(ex, p, "/authorizedhub-refresh", [&](hc::hub_connection_builder& b) {
      b.with_access_token_provider([&issued]() -> asio::awaitable<std::string> {
        co_return co_await http_get(conformance().url() + "/generateJwtToken?lifetime=6&role=r" +
                                    std::to_string(++issued));
      });
      b.with_automatic_reconnect({0ms});
      b.with_authentication_refresh({true, 3000ms});
    });
    int refreshed = 0, reconnects = 0;
    std::vector<std::string> failures;
    int issued_at_refresh = 0;  // the newest token a completed refresh can have carried
    conn->on_authentication_refreshed([&](std::optional<std::chrono::seconds> lifetime) {
      ++refreshed;
      issued_at_refresh = issued;
      EXPECT_TRUE(lifetime && lifetime->count() > 0 && lifetime->count() <= 6);
    });
    conn->on_authentication_refresh_failed([&](const std::string& e) { failures.push_back(e); });
    conn->on_reconnecting([&](std::optional<std::string>) { ++reconnects; });
    auto started = std::chrono::steady_clock::now();
    co_await conn->start();
    auto id = conn->connection_id();
    // Past the first token's end (6 s; the hub closes at expiry) with two refreshes.
    for (int i = 0;
         i < 400 && (refreshed < 2 || std::chrono::steady_clock::now() - started < 7500ms); ++i)
      co_await sleep_for(100ms);
    EXPECT_GE(refreshed, 2);
    EXPECT_TRUE(failures.empty()) << (failures.empty() ? "" : failures.front());
    EXPECT_EQ(reconnects, 0);
    EXPECT_EQ(conn->state(), hc::connection_state::connected);
    EXPECT_EQ(conn->connection_id(), id);
    // New calls see a refreshed token's claims (a later refresh may be on its way meanwhile).
    int seen_after = issued_at_refresh;
    auto roles = co_await conn->invoke<std::string>("GetRoles");
    int k = std::stoi(roles.substr(1));
    EXPECT_TRUE(k >= seen_after && k >= 2 && k <= issued)
        << roles << ", refreshed at r" << seen_after << ", issued r" << issued;
    co_await conn->stop();
  }());
}

INSTANTIATE_TEST_SUITE_P(
    Pairs, ClientMatrix,
    ::testing::Values(
        pair_param{protocol_id::json, hc::websockets, "WebSockets_Json"},
        pair_param{protocol_id::messagepack, hc::websockets, "WebSockets_MessagePack"},
        pair_param{protocol_id::json, hc::long_polling, "LongPolling_Json"},
        pair_param{protocol_id::messagepack, hc::long_polling, "LongPolling_MessagePack"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Client, ALongPollAnswered409RefreshesOnceAndPollsOn) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    int issued = 0;
    auto conn =
        make(ex, {protocol_id::json, hc::long_polling, "LongPolling"},
             "/authorizedhub-refresh-noclose", [&](hc::hub_connection_builder& b) {
               // First a token that expired 5 s ago, still accepted inside the server's clock skew
               // (negotiate and the transport take it); then fresh ones.
               b.with_access_token_provider([&issued]() -> asio::awaitable<std::string> {
                 co_return co_await http_get(conformance().url() + "/generateJwtToken?" +
                                             (issued++ == 0 ? "lifetime=-5&role=old" : "role=new"));
               });
               b.with_authentication_refresh({false, 3000ms});
             });
    int refreshed = 0;
    conn->on_authentication_refreshed([&](std::optional<std::chrono::seconds>) { ++refreshed; });
    co_await conn->start();
    // The first poll after the start carries the expired token: 409, one refresh, polls on.
    for (int i = 0; i < 100 && refreshed == 0; ++i) co_await sleep_for(50ms);
    EXPECT_EQ(refreshed, 1);
    EXPECT_EQ(issued, 2);
    EXPECT_EQ(co_await conn->invoke<std::string>("GetRoles"), "new");
    EXPECT_EQ(conn->state(), hc::connection_state::connected);
    // By hand too.
    auto lifetime = co_await conn->refresh_authentication();
    EXPECT_TRUE(lifetime && lifetime->count() > 0);
    EXPECT_EQ(refreshed, 2);
    co_await conn->stop();
  }());
}

// A refresh still waiting for its token when the application stops the connection reports to
// nobody afterwards: the application may have released what its handlers refer to (the
// sanitizer build caught a handler running after the test's frame was gone).
TEST(Client, ARefreshOvertakenByStopReportsToNobody) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto release = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    auto tokens = std::make_shared<int>(0);
    auto conn =
        make(ex, {protocol_id::json, hc::websockets, "WebSockets"},
             "/authorizedhub-refresh-noclose", [&](hc::hub_connection_builder& b) {
               b.with_access_token_provider([release, tokens]() -> asio::awaitable<std::string> {
                 auto token = co_await http_get(conformance().url() + "/generateJwtToken?role=r");
                 if (++*tokens > 1)  // the refresh's token comes after the stop
                   co_await release->async_wait(asio::as_tuple(asio::use_awaitable));
                 co_return token;
               });
               b.with_authentication_refresh({false, 3000ms});
             });
    auto failures = std::make_shared<std::vector<std::string>>();
    auto refreshed = std::make_shared<int>(0);
    conn->on_authentication_refresh_failed(
        [failures](const std::string& e) { failures->push_back(e); });
    conn->on_authentication_refreshed(
        [refreshed](std::optional<std::chrono::seconds>) { ++*refreshed; });
    co_await conn->start();
    auto done = std::make_shared<bool>(false);
    auto* c = conn.get();
    asio::co_spawn(
        ex,
        [c, done]() -> asio::awaitable<void> {
          try {
            co_await c->refresh_authentication();
          } catch (const std::exception&) {
          }
          *done = true;
        },
        asio::detached);
    for (int i = 0; i < 100 && *tokens < 2; ++i) co_await sleep_for(20ms);
    EXPECT_EQ(*tokens, 2);  // the refresh waits for its token
    co_await conn->stop();
    release->cancel();  // now the token comes: the refresh goes on, to a stopped connection
    for (int i = 0; i < 250 && !*done; ++i) co_await sleep_for(20ms);
    EXPECT_TRUE(*done);
    EXPECT_TRUE(failures->empty()) << failures->front();
    EXPECT_EQ(*refreshed, 0);
  }());
}

TEST(Client, RefusesCallsWhenNotConnected) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, {protocol_id::json, hc::websockets, ""});
    std::string error;
    try {
      co_await conn->invoke<std::string>("Echo", std::string("x"));
    } catch (const hc::connection_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "Cannot send data if the connection is not in the 'Connected' State.");
  }());
}

TEST(Client, FollowsNegotiateRedirects) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, {protocol_id::json, hc::websockets, ""},
                     "/redirect?baseUrl=" + conformance().url());
    co_await conn->start();
    EXPECT_GE(co_await conn->invoke<int>("GetNumRedirects"), 1);
    co_await conn->stop();
  }());
}

TEST(Client, SkipsNegotiationOnWebSocketsOnly) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, {protocol_id::messagepack, hc::websockets, ""}, "/testhub",
                     [](auto& b) { b.skip_negotiation(); });
    co_await conn->start();
    EXPECT_EQ(conn->connection_id(), std::nullopt);
    EXPECT_EQ(co_await conn->invoke<std::string>("Echo", std::string("direct")), "direct");
    co_await conn->stop();

    auto lp = make(ex, {protocol_id::json, hc::long_polling, ""}, "/testhub",
                   [](auto& b) { b.skip_negotiation(); });
    std::string error;
    try {
      co_await lp->start();
    } catch (const hc::connection_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error,
              "Negotiation can only be skipped when using the WebSocket transport directly.");
  }());
}

TEST(Client, FallsBackToLongPollingWhenWebSocketsAreNotOffered) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, {protocol_id::messagepack, hc::websockets | hc::long_polling, ""},
                     "/testhub-nowebsockets");
    co_await conn->start();
    EXPECT_EQ(co_await conn->invoke<std::string>("GetActiveTransportName"), "LongPolling");
    co_await conn->stop();
  }());
}

TEST(Client, ReportsServerCloseErrors) {
  run_async([]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, {protocol_id::json, hc::websockets, ""}, "/uncreatable");
    latch<std::string> closed;
    conn->on_closed([&](std::optional<std::string> e) { closed.value = e.value_or("(none)"); });
    try {
      co_await conn->start();
    } catch (const std::exception&) {
    }
    EXPECT_EQ(co_await closed.wait(),
              "Server returned an error on close: Connection closed with an error. "
              "InvalidOperationException: This hub cannot be created.");
    EXPECT_EQ(conn->state(), hc::connection_state::disconnected);
  }());
}

TEST(Client, ClosesWhenTheServerGoesSilent) {
  run_async([]() -> asio::awaitable<void> {
    // The server pings every 15 s; a 300 ms server timeout expires first.
    auto ex = co_await asio::this_coro::executor;
    auto conn = make(ex, {protocol_id::json, hc::websockets, ""}, "/testhub",
                     [](auto& b) { b.with_server_timeout(300ms); });
    latch<std::string> closed;
    conn->on_closed([&](std::optional<std::string> e) { closed.value = e.value_or("(none)"); });
    co_await conn->start();
    EXPECT_EQ(co_await closed.wait(),
              "Server timeout elapsed without receiving a message from the server.");
  }());
}

TEST(Client, ReconnectsAutomaticallyWithANewConnection) {
  hubcast::test::tcp_proxy proxy(hubcast::test::port_of(conformance().url()));
  run_async([&proxy]() -> asio::awaitable<void> {
    hc::hub_connection_builder b;
    b.with_url(proxy.url() + "/testhub", hc::websockets)
        .with_automatic_reconnect(std::vector<hc::duration>{0ms, 100ms, 500ms});
    auto conn = b.build(co_await asio::this_coro::executor);
    std::vector<std::string> events;
    latch<std::string> reconnected;
    conn->on_reconnecting([&](std::optional<std::string> e) {
      events.push_back("reconnecting");
      EXPECT_TRUE(e.has_value());
    });
    conn->on_reconnected([&](std::optional<std::string> id) {
      events.push_back("reconnected");
      reconnected.value = id.value_or("");
    });
    co_await conn->start();
    auto first = conn->connection_id();
    // A call in flight when the connection drops fails with the official text.
    auto pending = conn->stream<int>("Counter", 1000, 50);
    co_await sleep_for(100ms);
    proxy.cut_all();
    std::string error;
    try {
      while (co_await pending.next()) {
      }
    } catch (const hc::connection_error& e) {
      error = e.what();
    }
    EXPECT_EQ(error, "Invocation canceled due to the underlying connection being closed.");
    auto second = co_await reconnected.wait();
    EXPECT_NE(second, first.value_or(""));
    EXPECT_EQ(events, (std::vector<std::string>{"reconnecting", "reconnected"}));
    EXPECT_EQ(conn->state(), hc::connection_state::connected);
    EXPECT_EQ(co_await conn->invoke<std::string>("Echo", std::string("again")), "again");
    co_await conn->stop();
  }());
}

TEST(Client, StatefulReconnectLosesNothing) {
  hubcast::test::tcp_proxy proxy(hubcast::test::port_of(conformance().url()));
  for (auto protocol : {protocol_id::json, protocol_id::messagepack}) {
    run_async(
        [&proxy, protocol]() -> asio::awaitable<void> {
          hc::hub_connection_builder b;
          b.with_url(proxy.url() + "/testhub", hc::websockets)
              .with_hub_protocol(protocol)
              .with_stateful_reconnect();
          auto conn = b.build(co_await asio::this_coro::executor);
          bool reconnecting = false;
          conn->on_reconnecting([&](auto) { reconnecting = true; });
          co_await conn->start();
          auto id = conn->connection_id();
          auto counter = conn->stream<int>("Counter", 300, 5);
          std::vector<int> got;
          int cuts = 0;
          while (auto v = co_await counter.next()) {
            got.push_back(*v);
            if (got.size() % 60 == 0 && cuts < 4) {
              proxy.cut_all();
              ++cuts;
            }
          }
          EXPECT_EQ(cuts, 4);
          EXPECT_EQ(got.size(), 300u);
          for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], static_cast<int>(i));
          EXPECT_FALSE(reconnecting);
          EXPECT_EQ(conn->connection_id(), id);
          EXPECT_EQ(co_await conn->invoke<std::string>("Echo", std::string("same")), "same");
          co_await conn->stop();
        }(),
        60s);
  }
}

TEST(Client, BlockingFacade) {
  hc::connection_options o;
  o.url = conformance().url() + "/testhub";
  hc::blocking_hub_connection conn(o);
  std::promise<std::string> message;
  conn.on("Message", [&](std::string m) { message.set_value(m); });
  conn.start();
  EXPECT_EQ(conn.state(), hc::connection_state::connected);
  EXPECT_EQ(conn.invoke<std::string>("Echo", std::string("blocking")), "blocking");
  conn.invoke("InvokeWithString", std::string("hi"));
  EXPECT_EQ(message.get_future().get(), "hi");
  auto s = conn.stream<std::string>("Stream");
  std::vector<std::string> items;
  while (auto i = s.next()) items.push_back(*i);
  EXPECT_EQ(items, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(conn.invoke("ThrowException", std::string("x")), hc::hub_exception);
  conn.stop();
  EXPECT_EQ(conn.state(), hc::connection_state::disconnected);
}

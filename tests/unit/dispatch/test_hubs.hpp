// Hubs used by the dispatch unit tests.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/class.hpp>

#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/method_table.hpp>

namespace unit {

struct point {
  int x = 0;
  int y = 0;
};
BOOST_DESCRIBE_STRUCT(point, (), (x, y))

class calc_hub : public hubcast::hub {
 public:
  static void configure(hubcast::hub_methods<calc_hub>& m) {
    m.add("Add", &calc_hub::add)
        .add("Echo", &calc_hub::echo)
        .add("Nothing", &calc_hub::nothing)
        .add("Fail", &calc_hub::fail)
        .add("FailHub", &calc_hub::fail_hub)
        .add("Count", &calc_hub::count)
        .add("Concat", &calc_hub::concat)
        .add("Move", &calc_hub::move)
        .add("Later", &calc_hub::later)
        .add("Greet", &calc_hub::greet)
        .add("JoinAndSend", &calc_hub::join_and_send)
        .add("Admin", &calc_hub::admin)
        .require("Admin")
        .add("Roles", &calc_hub::roles)
        .add("RolesLater", &calc_hub::roles_later)
        .add("UserId", &calc_hub::user_id)
        .add("UntilCancelled", &calc_hub::until_cancelled);
  }
  int add(int a, int b) { return a + b; }
  std::string echo(std::string s) { return s; }
  void nothing() {}
  void fail() { throw std::runtime_error("secret detail"); }
  void fail_hub() { throw hubcast::hub_exception("told you"); }
  hubcast::async_stream<int> count(int n) {
    return [n](hubcast::stream_writer<int> w) -> boost::asio::awaitable<void> {
      for (int i = 0; i < n; ++i) co_await w.write(i);
    };
  }
  boost::asio::awaitable<std::string> concat(hubcast::stream_reader<std::string> r) {
    std::string out;
    while (auto s = co_await r.next()) out += *s;
    co_return out;
  }
  point move(point p, std::optional<int> by) { return {p.x + by.value_or(1), p.y}; }
  boost::asio::awaitable<int> later() {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                std::chrono::milliseconds(1));
    co_await t.async_wait(boost::asio::use_awaitable);
    co_return 7;
  }
  void greet(std::string name) { clients().caller().send("Hello", name); }
  boost::asio::awaitable<void> join_and_send(std::string group) {
    auto join = groups().add(context().connection_id(), group);
    co_await std::move(join);
    clients().group(group).send("InGroup", group);
  }
  int admin() { return 1; }
  // The caller's roles, comma-separated, as the call sees them.
  std::string roles() {
    std::string out;
    for (const auto& c : context().user().claims())
      if (c.type == "role") out += (out.empty() ? "" : ",") + c.value;
    return out;
  }
  // The roles after a 1 ms wait: what a call that was running during a refresh sees.
  boost::asio::awaitable<std::string> roles_later() {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                std::chrono::milliseconds(1));
    co_await t.async_wait(boost::asio::use_awaitable);
    co_return roles();
  }
  // Answers once the client cancels the invocation (or the connection ends).
  boost::asio::awaitable<std::string> until_cancelled(std::string tag,
                                                      hubcast::cancellation_token cancel) {
    co_await cancel.async_wait_cancelled();
    last_outcome = tag + (cancel.is_cancellation_requested() ? " cancelled" : " not cancelled");
    co_return last_outcome;
  }
  static inline std::string last_outcome;
  std::string user_id() { return context().user_identifier().value_or("none"); }
  boost::asio::awaitable<void> on_authentication_refreshed() override {
    clients().caller().send("Refreshed", roles());
    co_return;
  }
};

}  // namespace unit

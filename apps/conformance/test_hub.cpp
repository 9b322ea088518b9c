#include "test_hub.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <hubcast/hubs/errors.hpp>

namespace conformance {

void test_hub::configure(hubcast::hub_methods<test_hub>& m) {
  m.add("Echo", &test_hub::echo)
      .add("GetCallerConnectionId", &test_hub::get_caller_connection_id)
      .add("GetNumRedirects", &test_hub::get_num_redirects)
      .add("ThrowException", &test_hub::throw_exception)
      .add("InvokeWithString", &test_hub::invoke_with_string)
      .add("SendCustomObject", &test_hub::send_custom_object)
      .add("Stream", &test_hub::stream)
      .add("InfiniteStream", &test_hub::infinite_stream)
      .add("StreamingConcat", &test_hub::streaming_concat)
      .add("EmptyStream", &test_hub::empty_stream)
      .add("StreamThrowException", &test_hub::stream_throw_exception)
      .add("GetActiveTransportName", &test_hub::get_active_transport_name)
      .add("EchoComplexObject", &test_hub::echo_complex_object)
      .add("SendComplexObject", &test_hub::send_complex_object)
      .add("GetContentTypeHeader", &test_hub::get_content_type_header)
      .add("GetHeader", &test_hub::get_header)
      .add("GetCookie", &test_hub::get_cookie)
      .add("WaitForCancellation", &test_hub::wait_for_cancellation)
      .add("GetLastCancellation", &test_hub::get_last_cancellation)
      .add("SendToAll", &test_hub::send_to_all)
      .add("Counter", &test_hub::counter);
}

std::string test_hub::echo(std::string message) {
  return message;
}

std::string test_hub::get_caller_connection_id() {
  return context().connection_id();
}

int test_hub::get_num_redirects() {
  auto v = context().query("numRedirects");
  if (!v) return 0;
  try {
    return std::stoi(*v);
  } catch (const std::exception&) {
    return 0;
  }
}

void test_hub::throw_exception(std::string message) {
  throw hubcast::invalid_operation_exception(message);
}

void test_hub::invoke_with_string(std::string message) {
  clients().caller().send("Message", message);
}

void test_hub::send_custom_object(custom_object obj) {
  clients().caller().send("CustomObject", obj);
}

hubcast::async_stream<std::string> test_hub::stream() {
  return [](hubcast::stream_writer<std::string> w) -> boost::asio::awaitable<void> {
    static constexpr const char* items[] = {"a", "b", "c"};
    for (const char* s : items) co_await w.write(s);
  };
}

hubcast::async_stream<std::string> test_hub::infinite_stream() {
  auto caller = clients().caller();
  return [caller](hubcast::stream_writer<std::string> w) -> boost::asio::awaitable<void> {
    co_await w.wait_cancelled();
    caller.send("StreamCanceled");
  };
}

boost::asio::awaitable<std::string> test_hub::streaming_concat(
    hubcast::stream_reader<std::string> items) {
  std::string out;
  for (;;) {
    auto item = co_await items.next();
    if (!item) break;
    out += *item;
  }
  co_return out;
}

hubcast::async_stream<int> test_hub::empty_stream() {
  return [](hubcast::stream_writer<int>) -> boost::asio::awaitable<void> { co_return; };
}

hubcast::async_stream<std::string> test_hub::stream_throw_exception(std::string message) {
  throw hubcast::invalid_operation_exception(message);
}

std::string test_hub::get_active_transport_name() {
  return std::string(context().transport_name());
}

complex_object test_hub::echo_complex_object(complex_object obj) {
  return obj;
}

complex_object test_hub::send_complex_object() {
  complex_object o;
  o.String = "hello world";
  o.IntArray = {1, 2, 3};
  o.ByteArray.data = {1, 2, 3};
  o.Guid = "00010203-0405-0607-0706-050403020100";
  using namespace std::chrono;
  o.DateTime = hubcast::date_time{sys_days{year{2000} / January / 1}.time_since_epoch()};
  return o;
}

std::optional<std::string> test_hub::get_content_type_header() {
  auto h = context().header("Content-Type");
  if (!h) return std::nullopt;
  return std::string(*h);
}

std::optional<std::string> test_hub::get_header(std::string name) {
  auto h = context().header(name);
  if (!h) return std::nullopt;
  return std::string(*h);
}

boost::asio::awaitable<std::string> test_hub::wait_for_cancellation(
    int timeout_ms, hubcast::cancellation_token cancel) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!cancel.is_cancellation_requested() && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(10));
    co_await t.async_wait(boost::asio::use_awaitable);
  }
  std::string outcome = cancel.is_cancellation_requested() ? "cancelled" : "timed out";
  context().items()["last_cancellation"] = outcome;
  co_return outcome;
}

std::string test_hub::get_last_cancellation() {
  auto& items = context().items();
  auto it = items.find("last_cancellation");
  return it == items.end() ? "none" : std::any_cast<std::string>(it->second);
}

std::optional<std::string> test_hub::get_cookie(std::string name) {
  return context().cookie(name);
}

// Broadcast to every connection of the hub (serialized once, shared by all recipients).
void test_hub::send_to_all(std::string message) {
  clients().all().send("Broadcast", message);
}

void authorized_hub::configure(hubcast::hub_methods<authorized_hub>& m) {
  m.add("Echo", &authorized_hub::echo)
      .add("GetUserIdentifier", &authorized_hub::get_user_identifier)
      .add("GetConnectionId", &authorized_hub::get_connection_id)
      .add("SendToConnection", &authorized_hub::send_to_connection)
      .add("SendToUser", &authorized_hub::send_to_user)
      .add("SendToGroup", &authorized_hub::send_to_group)
      .add("AddToGroup", &authorized_hub::add_to_group)
      .add("RemoveFromGroup", &authorized_hub::remove_from_group)
      .add("GetRoles", &authorized_hub::get_roles)
      .add("AdminOnly", &authorized_hub::admin_only)
      .require("Admin");
}

std::string authorized_hub::get_roles() {
  std::string out;
  for (const auto& c : context().user().claims())
    if (c.type == "role") out += (out.empty() ? "" : ",") + c.value;
  return out;
}

// Tells the caller, with the roles of the new token.
boost::asio::awaitable<void> authorized_hub::on_authentication_refreshed() {
  clients().caller().send("AuthenticationRefreshed", get_roles());
  co_return;
}

// 0, 1, ... count-1, one every delay_ms (the stateful-reconnect test streams through cuts).
hubcast::async_stream<int> test_hub::counter(int count, int delay_ms) {
  return [count, delay_ms](hubcast::stream_writer<int> w) -> boost::asio::awaitable<void> {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    for (int i = 0; i < count && !w.cancelled(); ++i) {
      co_await w.write(i);
      t.expires_after(std::chrono::milliseconds(delay_ms));
      co_await t.async_wait(boost::asio::use_awaitable);
    }
  };
}

uncreatable_hub::uncreatable_hub() {
  throw hubcast::invalid_operation_exception("This hub cannot be created.");
}

void uncreatable_hub::configure(hubcast::hub_methods<uncreatable_hub>& m) {
  m.add("Echo", &uncreatable_hub::echo);
}

}  // namespace conformance

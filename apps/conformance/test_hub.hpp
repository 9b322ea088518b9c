// TestHub: the surface the official clients' end-to-end suites use (conformance-app.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/describe/class.hpp>

#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/method_table.hpp>

#include "contract.hpp"

namespace conformance {

using test_contract::complex_object;
using test_contract::custom_object;

class test_hub : public hubcast::hub {
 public:
  static void configure(hubcast::hub_methods<test_hub>& m);

  std::string echo(std::string message);
  std::string get_caller_connection_id();
  int get_num_redirects();
  void throw_exception(std::string message);
  void invoke_with_string(std::string message);
  void send_custom_object(custom_object obj);
  hubcast::async_stream<std::string> stream();
  hubcast::async_stream<std::string> infinite_stream();
  boost::asio::awaitable<std::string> streaming_concat(hubcast::stream_reader<std::string> items);
  hubcast::async_stream<int> empty_stream();
  hubcast::async_stream<std::string> stream_throw_exception(std::string message);
  std::string get_active_transport_name();
  complex_object echo_complex_object(complex_object obj);
  complex_object send_complex_object();
  std::optional<std::string> get_content_type_header();
  std::optional<std::string> get_header(std::string name);
  std::optional<std::string> get_cookie(std::string name);
  // Waits until the client cancels the invocation (11.0 clients' CancelInvocation for ordinary
  // invocations) or `timeout_ms` passes; "cancelled" or "timed out", also kept for
  // GetLastCancellation (the client that cancelled never sees the answer).
  boost::asio::awaitable<std::string> wait_for_cancellation(int timeout_ms,
                                                            hubcast::cancellation_token cancel);
  std::string get_last_cancellation();
  void send_to_all(std::string message);
  hubcast::async_stream<int> counter(int count, int delay_ms);
};

// /authorizedhub: every request needs a valid bearer token.
class authorized_hub : public hubcast::hub {
 public:
  static void configure(hubcast::hub_methods<authorized_hub>& m);
  std::string echo(std::string message) { return message; }
  // hubcast additions for the auth tests.
  std::optional<std::string> get_user_identifier() { return context().user_identifier(); }
  std::string admin_only() { return "admin"; }
  // The caller's roles, comma-separated, as this call sees them (authentication refresh tests).
  std::string get_roles();
  boost::asio::awaitable<void> on_authentication_refreshed() override;
  // Sends that go through the lifetime manager to the owning shard(s) (e2e sends.test.mjs).
  std::string get_connection_id() { return context().connection_id(); }
  void send_to_connection(std::string connection_id, std::string message) {
    clients().client(std::move(connection_id)).send("Message", message);
  }
  void send_to_user(std::string user_id, std::string message) {
    clients().user(std::move(user_id)).send("Message", message);
  }
  void send_to_group(std::string group, std::string message) {
    clients().group(std::move(group)).send("Message", message);
  }
  // Another connection's group membership (its shard may not be the caller's).
  boost::asio::awaitable<void> add_to_group(std::string connection_id, std::string group) {
    auto op = groups().add(std::move(connection_id), std::move(group));
    co_await std::move(op);
  }
  boost::asio::awaitable<void> remove_from_group(std::string connection_id, std::string group) {
    auto op = groups().remove(std::move(connection_id), std::move(group));
    co_await std::move(op);
  }
};

// Throws from its constructor: connections to /uncreatable fail with a close error.
class uncreatable_hub : public hubcast::hub {
 public:
  uncreatable_hub();
  static void configure(hubcast::hub_methods<uncreatable_hub>& m);
  std::string echo(std::string message) { return message; }
};

}  // namespace conformance

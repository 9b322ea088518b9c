// The base class hub authors derive from (Hub). A hub object is created per invocation, like
// ASP.NET Core's transient hubs: keep state in services or in context().items(), not members.
#pragma once

#include <any>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>

#include <hubcast/auth/claims_principal.hpp>
#include <hubcast/http/request.hpp>
#include <hubcast/hubs/clients.hpp>

namespace hubcast {

// What a hub method knows about its caller (HubCallerContext).
class hub_caller_context {
 public:
  // Takes the connection's principal now: a refresh during the call does not change what this
  // call sees (ASP.NET Core: running invocations keep their Context.User).
  explicit hub_caller_context(std::shared_ptr<session::hub_connection> c);

  const std::string& connection_id() const;
  // The authenticated user (empty principal when anonymous), as of this call's start.
  const auth::claims_principal& user() const;
  // What clients().user(...) matches: the name identifier by default.
  std::optional<std::string> user_identifier() const;
  // The HTTP request that started the transport (headers, query, cookies).
  const http::request& request() const;
  std::optional<std::string_view> header(std::string_view name) const {
    return request().header(name);
  }
  std::optional<std::string> query(std::string_view name) const {
    return request().query_param(name);
  }
  std::optional<std::string> cookie(std::string_view name) const { return request().cookie(name); }
  // "WebSockets", "ServerSentEvents" or "LongPolling".
  std::string_view transport_name() const;
  // The hub protocol in use: "json" or "messagepack" (empty before the handshake).
  std::string_view protocol_name() const;
  // Per-connection state that lives as long as the connection.
  std::unordered_map<std::string, std::any>& items() const;
  // Ends the connection (a Close message without error).
  void abort() const;

 private:
  std::shared_ptr<session::hub_connection> c_;
  std::shared_ptr<const auth::claims_principal> user_;
};

class hub {
 public:
  virtual ~hub() = default;

  virtual boost::asio::awaitable<void> on_connected() { co_return; }
  // `error` is set when the connection ended because of an error.
  virtual boost::asio::awaitable<void> on_disconnected(std::optional<std::string> error) {
    (void)error;
    co_return;
  }
  // The connection's token was refreshed (OnAuthenticationRefreshedAsync): context().user() is
  // the new principal; the user identifier and group memberships are unchanged.
  virtual boost::asio::awaitable<void> on_authentication_refreshed() { co_return; }

  hub_caller_context& context() { return *context_; }
  hub_caller_clients& clients() { return *clients_; }
  group_manager& groups() { return *groups_; }

  // Used by the dispatcher before every call.
  void bind_caller(std::shared_ptr<session::hub_connection> c, lifetime::hub_lifetime_manager* lm);

 private:
  std::optional<hub_caller_context> context_;
  std::optional<hub_caller_clients> clients_;
  std::optional<group_manager> groups_;
};

}  // namespace hubcast

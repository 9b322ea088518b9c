// Per-hub settings (HubOptions); defaults are ASP.NET Core SignalR's.
#pragma once

#include <chrono>
#include <cstddef>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <hubcast/auth/claims_principal.hpp>
#include <hubcast/protocol/value_codec.hpp>

namespace hubcast {

class hub_filter;

struct hub_options {
  std::chrono::milliseconds keep_alive_interval{15000};
  std::chrono::milliseconds client_timeout_interval{30000};
  std::chrono::milliseconds handshake_timeout{15000};
  // Per incoming hub message, framing included; 0 = unlimited.
  std::size_t maximum_receive_message_size = 32 * 1024;
  // Append exception types and messages to the error texts clients see.
  bool enable_detailed_errors = false;
  // Items buffered per client-to-server stream before the reader waits.
  std::size_t stream_buffer_capacity = 10;
  // Default timeout of a client result (invoke on one client).
  std::chrono::milliseconds client_result_timeout{30000};
  // How C++ member names become JSON property names.
  encode_options encoding{};
  // Close a connection whose token expired (Close without error, reconnect allowed).
  bool close_on_authentication_expiration = false;
  // What clients().user(id) matches; default: the name identifier (`nameid` / `sub`).
  std::function<std::optional<std::string>(const auth::claims_principal&)> user_id_provider;
  bool allow_json = true;
  bool allow_messagepack = true;
  // The hub's name on a Redis backplane (redis::use_redis): every server of the hub must use the
  // same. ASP.NET Core uses the hub's full .NET type name (e.g. "Hubcast.Conformance.ClusterHub"):
  // set that name to share a hub with ASP.NET Core servers. Empty: the hub's path.
  std::string backplane_name;
  // This hub's filters (hubs/hub_filter.hpp), run after the app's global ones, in this order.
  std::vector<std::shared_ptr<hub_filter>> filters;
};

}  // namespace hubcast

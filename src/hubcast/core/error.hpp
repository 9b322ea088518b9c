// hubcast's own error codes (`hubcast::errc`, category "hubcast"): why a connection's input
// ended, kept from the transport that saw it to the hub that is told (OnDisconnectedAsync's
// exception). Transport failures of the socket's own kinds (asio, Beast, OpenSSL) are mapped to
// these where the transport reads them, so that the layers above compare against one set.
#pragma once

#include <type_traits>

#include <boost/system/error_code.hpp>

namespace hubcast {

enum class errc {
  // The client ended the connection as the protocol says: a WebSocket close frame, a DELETE
  // of a long-polling or SSE connection, the end of a test's input.
  connection_closed = 1,
  // The socket ended without a close handshake (the client went away; it may reconnect).
  connection_closed_prematurely,
  // The server ended it: output over its limit, a transport timeout, shutdown (abort()).
  connection_aborted,
  // A message over the connection's read limit.
  message_too_large,
  // The client broke the WebSocket protocol (an invalid frame, invalid UTF-8 text).
  protocol_violation,
  // The socket or TLS failed.
  transport_failed,
};

const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Whether a connection that ended with `ec` ended the way clients end connections (closed, with
// or without the close handshake): ASP.NET Core then gives OnDisconnectedAsync no exception.
bool is_graceful_end(const boost::system::error_code& ec) noexcept;

}  // namespace hubcast

template <>
struct boost::system::is_error_code_enum<hubcast::errc> : std::true_type {};

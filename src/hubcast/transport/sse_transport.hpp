// The Server-Sent Events transport (ServerSentEventsServerTransport, signalr-protocol.md §3.3):
// everything queued when the writer runs becomes one event, one `data:` line per payload line.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include <hubcast/http/exchange.hpp>
#include <hubcast/transport/connection.hpp>

namespace hubcast::transport {

// The event for `payload` (non-empty): `data: <line>\r\n` per line, then a blank line.
void format_sse_event(std::string_view payload, std::string& out);

class sse_transport {
 public:
  sse_transport(std::shared_ptr<connection> c, http::exchange& ex) : conn_(std::move(c)), ex_(ex) {}

  // Writes events until the output completes (or a write fails), then closes the stream.
  boost::asio::awaitable<void> run();

 private:
  std::shared_ptr<connection> conn_;
  http::exchange& ex_;
};

}  // namespace hubcast::transport

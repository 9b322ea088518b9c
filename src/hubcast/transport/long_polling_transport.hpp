// The long polling transport (LongPollingServerTransport, signalr-protocol.md §3.4): each poll
// waits up to the poll timeout for output and answers with everything queued.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>

#include <hubcast/transport/connection.hpp>

namespace hubcast::transport {

class long_polling_transport {
 public:
  struct poll_result {
    int status = 200;  // 200 with the output (or empty on timeout); 204: ended or superseded
    std::string body;
  };

  // On the connection's shard.
  static boost::asio::awaitable<poll_result> poll(std::shared_ptr<connection> c,
                                                  std::chrono::milliseconds timeout);
};

}  // namespace hubcast::transport

// One TCP connection to Redis speaking RESP2: hiredis formats the commands and parses the
// replies (redis_value.hpp); Asio owns the socket. Commands are pipelined and answered in
// order. In subscriber mode, "message" pushes go to the push handler instead.
//
// Everything runs on the connection's executor: call its member functions there.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <hubcast/core/fifo.hpp>
#include <hubcast/redis/redis_options.hpp>
#include <hubcast/redis/redis_value.hpp>

namespace hubcast::redis {

class redis_connection : public std::enable_shared_from_this<redis_connection> {
 public:
  // The reply, or nullptr when the connection ended before it came.
  using reply_handler = std::function<void(const redis_value*)>;
  using push_handler = std::function<void(std::string_view channel, std::string_view payload)>;
  using closed_handler = std::function<void(const std::string& reason)>;

  redis_connection(boost::asio::any_io_executor ex, const redis_options& options, bool subscriber);
  ~redis_connection();

  // Connects (within connectTimeout), authenticates and names the client, then starts
  // reading. Throws std::runtime_error with the reason (never the password).
  boost::asio::awaitable<void> connect();

  void command(const std::vector<std::string_view>& argv, reply_handler h);
  // Sends a command and waits for its reply; throws std::runtime_error when the connection ends
  // first.
  boost::asio::awaitable<std::shared_ptr<redis_value>> request(std::vector<std::string> argv);

  void set_push_handler(push_handler h) { on_push_ = std::move(h); }
  void set_closed_handler(closed_handler h) { on_closed_ = std::move(h); }

  bool is_open() const { return open_; }
  // Ends the connection: pending handlers get nullptr, the closed handler is called once.
  void close(const std::string& reason);

 private:
  void write_more();
  void read_more();
  void on_reply(std::unique_ptr<redis_value> v);

  boost::asio::any_io_executor ex_;
  const redis_options& options_;
  bool subscriber_;
  boost::asio::ip::tcp::socket socket_;
  redis_reader reader_;
  std::string out_, writing_;
  bool write_busy_ = false;
  bool open_ = false;
  fifo<reply_handler> pending_;
  push_handler on_push_;
  closed_handler on_closed_;
  std::unique_ptr<char[]> read_buf_;
};

}  // namespace hubcast::redis

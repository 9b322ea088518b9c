// Long-polling transport: a poll loop (GET) feeding received chunks to receive(), POST for
// sends, DELETE to close (signalr-protocol.md §3.4).
#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <hubcast/client/http_client.hpp>
#include <hubcast/client/hub_connection.hpp>
#include <hubcast/client/transport.hpp>
#include <hubcast/core/event.hpp>

namespace hubcast::client::detail {

namespace {

class long_polling final : public transport, public std::enable_shared_from_this<long_polling> {
 public:
  long_polling(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls,
               std::chrono::milliseconds timeout)
      : ex_(ex), tls_(std::move(tls)), timeout_(timeout), wake_(ex) {}

  asio::awaitable<void> connect(std::string url, protocol::header_map headers,
                                bool binary) override {
    url_ = std::move(url);
    headers_ = std::move(headers);
    binary_ = binary;
    // The first poll answers at once: it proves the connection exists.
    auto res = co_await http_request(ex_, tls_, poll_url(), "GET", headers_, {}, timeout_);
    if (res.status != 200)
      throw connection_error("Long polling failed to connect: status code " +
                             std::to_string(res.status) + ".");
    if (!res.body.empty()) push(std::move(res.body));
    running_ = true;
    auto self = shared_from_this();
    asio::co_spawn(
        ex_, [self]() { return self->poll_loop(); }, asio::detached);
  }

  asio::awaitable<void> send(std::string data) override {
    if (!running_) throw connection_error("Cannot send until the transport is connected");
    protocol::header_map h = headers_;
    h.emplace_back("Content-Type",
                   binary_ ? "application/octet-stream" : "text/plain;charset=UTF-8");
    auto res =
        co_await http_request(ex_, tls_, url_, "POST", std::move(h), std::move(data), timeout_);
    if (res.status < 200 || res.status >= 300)
      throw connection_error("Long polling send failed: status code " + std::to_string(res.status) +
                             ".");
  }

  asio::awaitable<std::optional<std::string>> receive() override {
    for (;;) {
      if (!inbox_.empty()) {
        std::string out = std::move(inbox_.front());
        inbox_.pop_front();
        co_return std::optional<std::string>(std::move(out));
      }
      if (error_) throw connection_error(*error_);
      if (closed_) co_return std::nullopt;
      co_await wake_.async_wait();
    }
  }

  asio::awaitable<void> stop() override {
    if (!running_) co_return;
    running_ = false;
    // DELETE releases the pending poll (it answers 204) and disposes the connection.
    try {
      co_await http_request(ex_, tls_, url_, "DELETE", headers_, {}, timeout_);
    } catch (const std::exception&) {
    }
    finish(std::nullopt);
  }

  void abort() override {
    running_ = false;
    finish(std::string("The long-polling transport was aborted."));
  }

  const char* name() const override { return "LongPolling"; }
  void update_headers(protocol::header_map headers) override { headers_ = std::move(headers); }
  void set_refresh_hook(std::function<asio::awaitable<bool>()> hook) override {
    refresh_hook_ = std::move(hook);
  }

 private:
  std::string poll_url() const {
    // A cache-busting parameter, like the official clients.
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return url_ + (url_.find('?') == std::string::npos ? "?" : "&") + "_=" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  }

  // A 409 whose JSON body says {"error":"authentication_refresh_required"}.
  static bool refresh_required(const http_response& res) {
    if (res.status != 409) return false;
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body, ec);
    if (ec || !v.is_object()) return false;
    auto* e = v.as_object().if_contains("error");
    return e && e->is_string() && e->get_string() == "authentication_refresh_required";
  }

  asio::awaitable<void> poll_loop() {
    auto keep = shared_from_this();
    bool refreshed = false;  // one refresh per 409; a second 409 in a row is an error
    while (running_) {
      try {
        auto res = co_await http_request(ex_, tls_, poll_url(), "GET", headers_, {}, timeout_);
        if (!running_) break;
        if (!refreshed && refresh_hook_ && refresh_required(res)) {
          refreshed = true;
          if (!co_await refresh_hook_()) {
            finish(std::string("Authentication refresh failed."));
            break;
          }
          continue;
        }
        refreshed = false;
        if (res.status == 204) {  // the server closed the connection
          finish(std::nullopt);
          break;
        }
        if (res.status != 200) {
          finish("Unexpected response code: " + std::to_string(res.status) + ".");
          break;
        }
        if (!res.body.empty()) push(std::move(res.body));
      } catch (const connection_error& e) {
        // A poll that timed out on our side is retried, like the official clients do.
        if (running_ && std::string_view(e.what()).find("timed out") != std::string_view::npos)
          continue;
        finish(std::string(e.what()));
        break;
      }
    }
  }

  void push(std::string data) {
    inbox_.push_back(std::move(data));
    wake_.notify_all();
  }
  void finish(std::optional<std::string> error) {
    if (closed_ || error_) return;
    if (error)
      error_ = std::move(error);
    else
      closed_ = true;
    wake_.notify_all();
  }

  asio::any_io_executor ex_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::chrono::milliseconds timeout_;
  std::string url_;
  protocol::header_map headers_;
  std::function<asio::awaitable<bool>()> refresh_hook_;
  bool binary_ = false;
  bool running_ = false;
  bool closed_ = false;
  std::optional<std::string> error_;
  std::deque<std::string> inbox_;
  hubcast::event wake_;  // a message arrived, the connection ended
};

}  // namespace

std::shared_ptr<transport> make_long_polling_transport(asio::any_io_executor ex,
                                                       std::shared_ptr<asio::ssl::context> tls,
                                                       std::chrono::milliseconds http_timeout) {
  return std::make_shared<long_polling>(ex, std::move(tls), http_timeout);
}

}  // namespace hubcast::client::detail

#include <hubcast/transport/sse_transport.hpp>

#include <span>

namespace hubcast::transport {

void format_sse_event(std::string_view payload, std::string& out) {
  out.clear();
  for (;;) {
    auto nl = payload.find('\n');
    auto line = payload.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += "data: ";
    out += line;
    out += "\r\n";
    if (nl == std::string_view::npos) break;
    payload.remove_prefix(nl + 1);
  }
  out += "\r\n";
}

boost::asio::awaitable<void> sse_transport::run() {
  std::string payload;
  std::string event;
  for (;;) {
    auto b = co_await conn_->async_take_output(conn_->attachment());
    if (b.done) break;
    payload.clear();
    for (const auto& part : b.parts) payload += *part;
    if (payload.empty()) continue;  // an empty payload is never an event
    format_sse_event(payload, event);
    std::string_view part(event);
    auto ec = co_await ex_.async_write_body(std::span<const std::string_view>(&part, 1));
    if (ec) {
      conn_->abort();
      break;
    }
  }
  conn_->complete();
  ex_.close_stream();
}

}  // namespace hubcast::transport

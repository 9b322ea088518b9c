#include <hubcast/core/error.hpp>

#include <string>

namespace hubcast {

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "hubcast"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::connection_closed:
        return "The client closed the connection.";
      case errc::connection_closed_prematurely:
        return "The client closed the connection without completing the close handshake.";
      case errc::connection_aborted:
        return "The connection was aborted by the server.";
      case errc::message_too_large:
        return "The message exceeded the maximum message size.";
      case errc::protocol_violation:
        return "The client violated the WebSocket protocol.";
      case errc::transport_failed:
        return "The transport failed.";
    }
    return "hubcast error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const category c;
  return c;
}

bool is_graceful_end(const boost::system::error_code& ec) noexcept {
  return !ec || ec == errc::connection_closed || ec == errc::connection_closed_prematurely;
}

}  // namespace hubcast

#include <hubcast/core/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/errc.hpp>

#include <gtest/gtest.h>

#include <hubcast/transport/connection.hpp>

namespace {

using hubcast::errc;
namespace sys = boost::system;

TEST(Errc, IsAnErrorCodeOfItsOwnCategory) {
  sys::error_code ec = errc::protocol_violation;
  EXPECT_TRUE(ec);
  EXPECT_STREQ(ec.category().name(), "hubcast");
  EXPECT_EQ(ec, errc::protocol_violation);
  EXPECT_NE(ec, errc::transport_failed);
  EXPECT_EQ(ec.message(), "The client violated the WebSocket protocol.");
  for (int v = 1; v <= static_cast<int>(errc::transport_failed); ++v)
    EXPECT_EQ(hubcast::error_category().message(v).rfind("hubcast error", 0), std::string::npos)
        << "errc " << v << " has no message";
  EXPECT_EQ(hubcast::error_category().message(99), "hubcast error 99");
}

TEST(Errc, OnlyTheClientsOwnEndsAreGraceful) {
  EXPECT_TRUE(hubcast::is_graceful_end({}));
  EXPECT_TRUE(hubcast::is_graceful_end(errc::connection_closed));
  EXPECT_TRUE(hubcast::is_graceful_end(errc::connection_closed_prematurely));
  EXPECT_FALSE(hubcast::is_graceful_end(errc::connection_aborted));
  EXPECT_FALSE(hubcast::is_graceful_end(errc::message_too_large));
  EXPECT_FALSE(hubcast::is_graceful_end(errc::protocol_violation));
  EXPECT_FALSE(hubcast::is_graceful_end(errc::transport_failed));
  EXPECT_FALSE(hubcast::is_graceful_end(boost::asio::error::eof));  // not mapped: not ours
}

TEST(Errc, AWebSocketReadFailureMapsToWhyTheConnectionEnded) {
  using hubcast::transport::websocket_end_reason;
  namespace ae = boost::asio::error;
  EXPECT_FALSE(websocket_end_reason({}, false));
  EXPECT_EQ(websocket_end_reason(ae::eof, true), errc::connection_closed);  // its close frame
  EXPECT_EQ(websocket_end_reason(ae::eof, false), errc::connection_closed_prematurely);
  EXPECT_EQ(websocket_end_reason(ae::connection_reset, false), errc::connection_closed_prematurely);
  EXPECT_EQ(websocket_end_reason(ae::broken_pipe, false), errc::connection_closed_prematurely);
  EXPECT_EQ(websocket_end_reason(ae::operation_aborted, false), errc::connection_aborted);
  EXPECT_EQ(websocket_end_reason(sys::errc::make_error_code(sys::errc::message_size), false),
            errc::message_too_large);
  EXPECT_EQ(websocket_end_reason(sys::errc::make_error_code(sys::errc::protocol_error), false),
            errc::protocol_violation);
  EXPECT_EQ(
      websocket_end_reason(sys::errc::make_error_code(sys::errc::illegal_byte_sequence), false),
      errc::protocol_violation);
  EXPECT_EQ(websocket_end_reason(ae::no_buffer_space, false), errc::transport_failed);
  EXPECT_EQ(websocket_end_reason(errc::protocol_violation, false), errc::protocol_violation);
}

}  // namespace

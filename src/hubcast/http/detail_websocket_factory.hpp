// Internal to http/: hands an upgraded TCP stream to the WebSocket implementation.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <hubcast/http/tls_stream.hpp>
#include <hubcast/http/websocket.hpp>

namespace hubcast::http::detail {

boost::asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    boost::beast::tcp_stream stream,
    const boost::beast::http::request<boost::beast::http::string_body>& req, bool direct_writer);

boost::asio::awaitable<std::unique_ptr<websocket>> accept_websocket(
    tls_stream stream, const boost::beast::http::request<boost::beast::http::string_body>& req,
    bool direct_writer);

}  // namespace hubcast::http::detail

// HTTP request and response values handed to route handlers. Plain data: no Beast types leak
// out of the http/ layer, so the hub layers compile without it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <hubcast/core/ascii.hpp>

namespace hubcast::http {

struct header_field {
  std::string name;
  std::string value;
};

struct request {
  std::string method;  // upper case as received, e.g. "GET"
  std::string target;  // path + query as received
  std::string path;    // percent-decoded path, without the query
  std::string query;   // raw query string without '?'
  std::vector<header_field> headers;
  std::string body;
  bool keep_alive = true;
  bool websocket_upgrade = false;
  std::string remote_address;

  // Case-insensitive header lookup; the first occurrence.
  std::optional<std::string_view> header(std::string_view name) const;
  // How many times a header (case-insensitive) or a query parameter appears.
  std::size_t header_count(std::string_view name) const;
  std::size_t query_param_count(std::string_view name) const;
  // Percent-decoded query parameter (keys compared case-insensitively, as ASP.NET does).
  std::optional<std::string> query_param(std::string_view name) const;
  std::optional<std::string> cookie(std::string_view name) const;
};

struct response {
  int status = 200;
  std::vector<header_field> headers;
  std::string body;

  response() = default;
  response(int s, std::string b = {}, std::string content_type = {});
  response& set(std::string name, std::string value);
};

// Reason phrase for a status code ("Unauthorized"), as Kestrel writes it.
std::string_view reason_phrase(int status);

// `target` with the values of token-bearing query parameters replaced by "[redacted]".
std::string redact_target(std::string_view target);

std::string percent_decode(std::string_view s, bool plus_as_space);
using ascii::iequals;  // ASCII case-insensitive (header names, schemes, tokens)
using ascii::istarts_with;

}  // namespace hubcast::http

// Checks on the raw bytes of an HTTP/1.x request head that Beast's parser lets through but
// Kestrel refuses with 400 (request smuggling and cache-poisoning vectors): obs-fold lines, a
// missing, repeated or malformed Host on HTTP/1.1, repeated Content-Length, a Transfer-Encoding
// whose final coding is not chunked, and control characters in the decoded path. Pure functions, no
// I/O (fuzzed by fuzz_http_head).
#pragma once

#include <cstddef>
#include <string_view>

namespace hubcast::http {

enum class head_verdict {
  ok,
  incomplete,   // no end of head yet ("\r\n\r\n")
  bad_request,  // 400 and close
  too_large,    // 431 and close
};

// Where the head ends: the offset just past the blank line, or npos when not (yet) found.
std::size_t find_end_of_head(std::string_view bytes);

// Validates `head` (request line and fields, up to and including the blank line), at most
// `max_bytes` long. Beast parses it afterwards; this only adds the checks Beast does not make.
head_verdict check_request_head(std::string_view bytes, std::size_t max_bytes);

// A Host field's value: uri-host [":" port], or empty (RFC 9110 §7.2). `a b`, `a/b`, `a:x`: not.
bool valid_host_value(std::string_view host);

// A Sec-WebSocket-Key: 16 bytes in base64 (RFC 6455 §4.2.1; ASP.NET Core checks the same).
bool valid_websocket_key(std::string_view key);

// True when a percent-decoded path holds a NUL or another control character (Kestrel: 400).
bool has_control_characters(std::string_view decoded_path);

}  // namespace hubcast::http

// Checks on the raw bytes of an HTTP/1.x request head that Beast's parser lets through but
// Kestrel refuses with 400 (request smuggling and cache-poisoning vectors): obs-fold lines, a
// missing or repeated Host on HTTP/1.1, repeated Content-Length, and control characters in the
// decoded path. Pure functions, no I/O (fuzzed by fuzz_http_head).
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

// True when a percent-decoded path holds a NUL or another control character (Kestrel: 400).
bool has_control_characters(std::string_view decoded_path);

}  // namespace hubcast::http

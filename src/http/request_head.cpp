#include "http/request_head.hpp"

#include "http/request.hpp"

namespace hubcast::http {

namespace {

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

std::size_t find_end_of_head(std::string_view bytes) {
  // A bare-LF blank line ends the head too: Beast then refuses the LF line endings (400).
  constexpr auto npos = std::string_view::npos;
  auto crlf = bytes.find("\r\n\r\n");
  auto lf = bytes.find("\n\n");
  std::size_t end = npos;
  if (crlf != npos) end = crlf + 4;
  if (lf != npos && lf + 2 < end) end = lf + 2;
  return end;
}

head_verdict check_request_head(std::string_view bytes, std::size_t max_bytes) {
  auto end = find_end_of_head(bytes);
  if (end == std::string_view::npos)
    return bytes.size() >= max_bytes ? head_verdict::too_large : head_verdict::incomplete;
  if (end > max_bytes) return head_verdict::too_large;
  std::string_view head = bytes.substr(0, end);
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
  while (head.starts_with("\r\n")) head.remove_prefix(2);
  auto eol = head.find('\n');
  if (eol == std::string_view::npos) return head_verdict::bad_request;
  std::string_view request_line = head.substr(0, eol);
  if (request_line.ends_with('\r')) request_line.remove_suffix(1);
  bool http11 = request_line.ends_with(" HTTP/1.1");
  std::size_t hosts = 0;
  std::size_t content_lengths = 0;
  std::string_view rest = head.substr(eol + 1);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) break;  // the blank line
    // obs-fold (RFC 9112 §5.2): a field line continued on the next line. Kestrel refuses it.
    if (line.front() == ' ' || line.front() == '\t') return head_verdict::bad_request;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return head_verdict::bad_request;
    std::string_view name = line.substr(0, colon);
    // Whitespace between the name and the colon is a smuggling vector (RFC 9112 §5.1).
    if (name.back() == ' ' || name.back() == '\t') return head_verdict::bad_request;
    if (iequals(name, "host")) {
      ++hosts;
    } else if (iequals(name, "content-length")) {
      ++content_lengths;
      if (trim(line.substr(colon + 1)).empty()) return head_verdict::bad_request;
    }
  }
  // RFC 9112 §3.2: exactly one Host on HTTP/1.1; at most one otherwise.
  if (hosts > 1 || (http11 && hosts == 0)) return head_verdict::bad_request;
  // Kestrel refuses any repeated Content-Length, equal values included.
  if (content_lengths > 1) return head_verdict::bad_request;
  return head_verdict::ok;
}

bool has_control_characters(std::string_view decoded_path) {
  for (unsigned char c : decoded_path)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace hubcast::http

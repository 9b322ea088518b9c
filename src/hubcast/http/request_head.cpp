#include <hubcast/http/request_head.hpp>

#include <hubcast/core/ascii.hpp>
#include <hubcast/http/request.hpp>

namespace hubcast::http {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digits(std::string_view v) {
  for (char c : v)
    if (c < '0' || c > '9') return false;
  return true;
}

// The last coding of a Transfer-Encoding list (its fields joined by commas): "" when none.
std::string_view last_coding(std::string_view list) {
  auto comma = list.rfind(',');
  return ascii::trim_ows(comma == std::string_view::npos ? list : list.substr(comma + 1));
}

}  // namespace

bool valid_websocket_key(std::string_view key) {
  // 16 bytes in base64: 22 characters of the alphabet, then "==".
  if (key.size() != 24 || !key.ends_with("==")) return false;
  for (char c : key.substr(0, 22))
    if (!is_alnum(c) && c != '+' && c != '/') return false;
  return true;
}

bool valid_host_value(std::string_view host) {
  // RFC 9110 §7.2, RFC 3986 §3.2.2: uri-host [ ":" port ]. Empty is allowed (Kestrel too).
  if (host.empty()) return true;
  std::string_view port;
  if (host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : host.substr(1, close - 1))
      if (!is_alnum(c) && c != ':' && c != '.' && c != '%' && c != '-' && c != '_' && c != '~')
        return false;
    std::string_view rest = host.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
  } else {
    auto colon = host.find(':');
    std::string_view name = host.substr(0, colon);
    if (name.empty()) return false;
    constexpr std::string_view allowed = "-._~!$&'()*+,;=%";
    for (char c : name)
      if (!is_alnum(c) && allowed.find(c) == std::string_view::npos) return false;
    if (colon == std::string_view::npos) return true;
    port = host.substr(colon + 1);
  }
  return port.size() <= 5 && is_digits(port);
}

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
  std::string_view final_coding;  // of the last Transfer-Encoding field
  bool transfer_encoding = false;
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
      if (!valid_host_value(ascii::trim_ows(line.substr(colon + 1))))
        return head_verdict::bad_request;
    } else if (iequals(name, "transfer-encoding")) {
      transfer_encoding = true;
      final_coding = last_coding(line.substr(colon + 1));
    } else if (iequals(name, "content-length")) {
      ++content_lengths;
      if (ascii::trim_ows(line.substr(colon + 1)).empty()) return head_verdict::bad_request;
    }
  }
  // RFC 9112 §3.2: exactly one Host on HTTP/1.1; at most one otherwise.
  if (hosts > 1 || (http11 && hosts == 0)) return head_verdict::bad_request;
  // Kestrel refuses any repeated Content-Length, equal values included.
  if (content_lengths > 1) return head_verdict::bad_request;
  // RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked leaves the body's
  // length unknown ("chunked, identity", "gzip", "xchunked"): 400 and close, as Kestrel. A
  // Content-Length next to it must not frame the body instead (request smuggling).
  if (transfer_encoding && !iequals(final_coding, "chunked")) return head_verdict::bad_request;
  return head_verdict::ok;
}

bool has_control_characters(std::string_view decoded_path) {
  for (unsigned char c : decoded_path)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace hubcast::http

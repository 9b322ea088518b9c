#include <hubcast/protocol/handshake.hpp>

#include <hubcast/protocol/json_hub_protocol.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/protocol/json_parse.hpp>
#include <hubcast/protocol/json_writer.hpp>

namespace hubcast::protocol {

std::variant<handshake_request, handshake_error> parse_handshake_request(std::string_view record) {
  boost::system::error_code ec;
  boost::json::parse_options limits;
  limits.max_depth = json::max_depth;
  auto v = parse_json(record, ec, limits);
  if (ec) return handshake_error{"InvalidDataException: Error reading JSON."};
  if (!v.is_object())
    return handshake_error{"InvalidDataException: Unexpected JSON Token Type '" +
                           std::string(v.is_array() ? "Array" : "Value") +
                           "'. Expected a JSON Object."};
  const auto& o = v.get_object();
  handshake_request req;
  auto p = o.if_contains("protocol");
  if (!p) return handshake_error{"InvalidDataException: Missing required property 'protocol'."};
  if (!p->is_string())
    return handshake_error{"InvalidDataException: Expected 'protocol' to be of type String."};
  req.protocol = std::string(p->get_string());
  auto ver = o.if_contains("version");
  if (!ver) return handshake_error{"InvalidDataException: Missing required property 'version'."};
  if (ver->is_int64()) {
    req.version = ver->get_int64();
  } else if (ver->is_uint64()) {
    req.version = static_cast<std::int64_t>(ver->get_uint64() & 0x7fffffffffffffffULL);
  } else {
    return handshake_error{"InvalidDataException: Expected 'version' to be of type Integer."};
  }
  return req;
}

std::string handshake_success() {
  return std::string("{}\x1e", 3);
}

std::string handshake_failure(std::string_view error) {
  std::string out = "{\"error\":";
  append_json_string(out, error);
  out += "}\x1e";
  return out;
}

}  // namespace hubcast::protocol

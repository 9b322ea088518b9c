#include <hubcast/protocol/json_hub_protocol.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <hubcast/protocol/json_parse.hpp>
#include <hubcast/protocol/json_writer.hpp>

namespace hubcast::protocol {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace hubcast::protocol

namespace hubcast::protocol::json {

namespace {

namespace bj = boost::json;

parse_result fail(std::string e) {
  return parse_result{std::nullopt, std::move(e)};
}

// Reads an optional string property; `error` set when present with the wrong type.
bool read_string(const bj::object& o, std::string_view name, std::optional<std::string>& out,
                 std::string& error) {
  auto p = o.if_contains(name);
  if (!p) return true;
  if (!p->is_string()) {
    error = "Expected '" + std::string(name) + "' to be of type String.";
    return false;
  }
  out = std::string(p->get_string());
  return true;
}

bool read_headers(const bj::object& o, header_map& out, std::string& error) {
  auto p = o.if_contains("headers");
  if (!p) return true;
  if (!p->is_object()) {
    error = "Expected 'headers' to be of type Object.";
    return false;
  }
  for (const auto& kv : p->get_object()) {
    if (!kv.value().is_string()) {
      error = "Expected header 'headers' values to be of type String.";
      return false;
    }
    out.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  return true;
}

bool read_sequence_id(const bj::object& o, std::int64_t& out, std::string& error) {
  auto p = o.if_contains("sequenceId");
  if (!p) {
    error = "Missing required property 'sequenceId'.";
    return false;
  }
  if (p->is_int64()) {
    out = p->get_int64();
  } else if (p->is_uint64()) {
    out = static_cast<std::int64_t>(p->get_uint64());
  } else {
    error = "Expected 'sequenceId' to be of type Integer.";
    return false;
  }
  return true;
}

}  // namespace

parse_result parse(std::string_view record) {
  boost::system::error_code ec;
  bj::parse_options limits;
  limits.max_depth = max_depth;
  bj::value v = parse_json(record, ec, limits);
  if (ec) return fail("Error reading JSON.");
  if (!v.is_object()) return fail("Unexpected JSON Token Type. Expected a JSON Object.");
  auto& o = v.get_object();
  auto tp = o.if_contains("type");
  if (!tp) return fail("Missing required property 'type'.");
  if (!tp->is_int64() && !tp->is_uint64()) return fail("Expected 'type' to be of type Integer.");
  auto type = tp->is_int64() ? tp->get_int64() : static_cast<std::int64_t>(tp->get_uint64());

  std::string err;
  std::optional<std::string> id;
  if (!read_string(o, "invocationId", id, err)) return fail(err);

  switch (type) {
    case 1:
    case 4: {
      invocation_message m;
      m.streaming = type == 4;
      if (id && id->empty()) id.reset();  // empty id means non-blocking, like the reference
      if (m.streaming && !id) return fail("Missing required property 'invocationId'.");
      m.invocation_id = std::move(id);
      std::optional<std::string> target;
      if (!read_string(o, "target", target, err)) return fail(err);
      if (!target || target->empty()) return fail("Missing required property 'target'.");
      m.target = std::move(*target);
      auto args = o.if_contains("arguments");
      if (!args) return fail("Missing required property 'arguments'.");
      if (!args->is_array()) return fail("Expected 'arguments' to be of type Array.");
      m.arguments.reserve(args->get_array().size());
      for (auto& a : args->get_array()) m.arguments.emplace_back(std::move(a));
      if (auto s = o.if_contains("streamIds")) {
        if (!s->is_array()) return fail("Expected 'streamIds' to be of type Array.");
        for (auto& sid : s->get_array()) {
          if (!sid.is_string()) return fail("Expected 'streamIds' items to be of type String.");
          m.stream_ids.emplace_back(sid.get_string());
        }
      }
      if (!read_headers(o, m.headers, err)) return fail(err);
      return {hub_message{std::move(m)}, {}};
    }
    case 2: {
      if (!id || id->empty()) return fail("Missing required property 'invocationId'.");
      auto item = o.if_contains("item");
      if (!item) return fail("Missing required property 'item'.");
      stream_item_message m{std::move(*id), raw_value(std::move(*item)), {}};
      if (!read_headers(o, m.headers, err)) return fail(err);
      return {hub_message{std::move(m)}, {}};
    }
    case 3: {
      if (!id || id->empty()) return fail("Missing required property 'invocationId'.");
      completion_message m;
      m.invocation_id = std::move(*id);
      auto res = o.if_contains("result");
      auto e = o.if_contains("error");
      if (res && e) return fail("The 'error' and 'result' properties are mutually exclusive.");
      if (e) {
        if (!e->is_string()) return fail("Expected 'error' to be of type String.");
        m.error = std::string(e->get_string());
      } else if (res) {
        m.has_result = true;
        m.result = raw_value(std::move(*res));
      }
      if (!read_headers(o, m.headers, err)) return fail(err);
      return {hub_message{std::move(m)}, {}};
    }
    case 5: {
      if (!id || id->empty()) return fail("Missing required property 'invocationId'.");
      cancel_invocation_message m{std::move(*id), {}};
      if (!read_headers(o, m.headers, err)) return fail(err);
      return {hub_message{std::move(m)}, {}};
    }
    case 6:
      return {hub_message{ping_message{}}, {}};
    case 7: {
      close_message m;
      std::optional<std::string> e;
      if (!read_string(o, "error", e, err)) return fail(err);
      m.error = std::move(e);
      if (auto ar = o.if_contains("allowReconnect")) {
        if (!ar->is_bool()) return fail("Expected 'allowReconnect' to be of type Boolean.");
        m.allow_reconnect = ar->get_bool();
      }
      return {hub_message{std::move(m)}, {}};
    }
    case 8: {
      ack_message m;
      if (!read_sequence_id(o, m.sequence_id, err)) return fail(err);
      return {hub_message{m}, {}};
    }
    case 9: {
      sequence_message m;
      if (!read_sequence_id(o, m.sequence_id, err)) return fail(err);
      return {hub_message{m}, {}};
    }
    default:
      return {};  // unknown type: ignored (forward compatibility)
  }
}

void write_invocation(std::string& out, std::string_view target, const boost::json::value& args,
                      std::optional<std::string_view> invocation_id) {
  write_invocation_raw(out, target, bj::serialize(args), invocation_id);
}

void write_invocation_raw(std::string& out, std::string_view target, std::string_view args,
                          std::optional<std::string_view> invocation_id) {
  write_client_invocation_raw(out, false, target, args, invocation_id, {});
}

void write_stream_invocation(std::string& out, std::string_view invocation_id,
                             std::string_view target, const boost::json::value& args) {
  write_client_invocation_raw(out, true, target, bj::serialize(args), invocation_id, {});
}

void write_stream_item(std::string& out, std::string_view invocation_id,
                       const boost::json::value& item) {
  write_stream_item_raw(out, invocation_id, bj::serialize(item));
}

void write_stream_item_raw(std::string& out, std::string_view invocation_id,
                           std::string_view item) {
  out += "{\"type\":2,\"invocationId\":";
  append_json_string(out, invocation_id);
  out += ",\"item\":";
  out += item;
  out += "}\x1e";
}

void write_completion_result(std::string& out, std::string_view invocation_id,
                             const boost::json::value& result) {
  write_completion_result_raw(out, invocation_id, bj::serialize(result));
}

void write_completion_result_raw(std::string& out, std::string_view invocation_id,
                                 std::string_view result) {
  out += "{\"type\":3,\"invocationId\":";
  append_json_string(out, invocation_id);
  out += ",\"result\":";
  out += result;
  out += "}\x1e";
}

void write_completion_error(std::string& out, std::string_view invocation_id,
                            std::string_view error) {
  out += "{\"type\":3,\"invocationId\":";
  append_json_string(out, invocation_id);
  out += ",\"error\":";
  append_json_string(out, error);
  out += "}\x1e";
}

void write_completion_void(std::string& out, std::string_view invocation_id) {
  out += "{\"type\":3,\"invocationId\":";
  append_json_string(out, invocation_id);
  out += "}\x1e";
}

void write_client_invocation_raw(std::string& out, bool streaming, std::string_view target,
                                 std::string_view args,
                                 std::optional<std::string_view> invocation_id,
                                 const std::vector<std::string>& stream_ids) {
  out += streaming ? "{\"type\":4," : "{\"type\":1,";
  if (invocation_id) {
    out += "\"invocationId\":";
    append_json_string(out, *invocation_id);
    out += ',';
  }
  out += "\"target\":";
  append_json_string(out, target);
  out += ",\"arguments\":";
  out += args;
  if (!stream_ids.empty()) {
    out += ",\"streamIds\":[";
    for (std::size_t i = 0; i < stream_ids.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, stream_ids[i]);
    }
    out += ']';
  }
  out += "}\x1e";
}

void write_cancel_invocation(std::string& out, std::string_view invocation_id) {
  out += "{\"type\":5,\"invocationId\":";
  append_json_string(out, invocation_id);
  out += "}\x1e";
}

void write_ping(std::string& out) {
  out += "{\"type\":6}\x1e";
}

void write_close(std::string& out, std::optional<std::string_view> error, bool allow_reconnect) {
  out += "{\"type\":7";
  if (error) {
    out += ",\"error\":";
    append_json_string(out, *error);
  }
  if (allow_reconnect) out += ",\"allowReconnect\":true";
  out += "}\x1e";
}

void write_ack(std::string& out, std::int64_t sequence_id) {
  out += "{\"type\":8,\"sequenceId\":" + std::to_string(sequence_id) + "}\x1e";
}

void write_sequence(std::string& out, std::int64_t sequence_id) {
  out += "{\"type\":9,\"sequenceId\":" + std::to_string(sequence_id) + "}\x1e";
}

}  // namespace hubcast::protocol::json

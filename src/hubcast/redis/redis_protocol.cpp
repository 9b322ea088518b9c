#include <hubcast/redis/redis_protocol.hpp>

#include <limits>

#include <msgpack.hpp>

#include <hubcast/protocol/msgpack_bounds.hpp>

namespace hubcast::redis {

namespace {

using packer = msgpack::packer<msgpack::sbuffer>;

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_bin(packer& pk, std::string_view s) {
  pk.pack_bin(static_cast<std::uint32_t>(s.size()));
  pk.pack_bin_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

std::string to_string(const msgpack::sbuffer& b) {
  return std::string(b.data(), b.size());
}

// The parsed root of `data` (one bounded MessagePack object); `zone` owns what it points into.
msgpack::object parse(std::string_view data, msgpack::zone& zone, const char* what) {
  std::string error;
  if (!protocol::check_msgpack_bounds(data, error, 16))
    throw protocol_error(std::string("Invalid ") + what + ": " + error + ".");
  try {
    std::size_t off = 0;
    const msgpack::unpack_limit limits(data.size(), data.size() / 2, data.size(), data.size(),
                                       data.size(), 16);
    return msgpack::unpack(zone, data.data(), data.size(), off, nullptr, nullptr, limits);
  } catch (const std::exception& e) {
    throw protocol_error(std::string("Invalid ") + what + ": " + e.what() + ".");
  }
}

// The root array with at least `minimum` items.
const msgpack::object_array& envelope(const msgpack::object& root, std::size_t minimum,
                                      const char* what) {
  if (root.type != msgpack::type::ARRAY)
    throw protocol_error(std::string("Invalid ") + what + ": not an array.");
  if (root.via.array.size < minimum)
    throw protocol_error(std::string("Insufficient items in ") + what + " array.");
  return root.via.array;
}

std::string read_str(const msgpack::object& o, const char* field) {
  if (o.type != msgpack::type::STR)
    throw protocol_error(std::string("Expected a string for ") + field + ".");
  return std::string(o.via.str.ptr, o.via.str.size);
}

std::string read_bin(const msgpack::object& o, const char* field) {
  if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
  throw protocol_error(std::string("Expected binary data for ") + field + ".");
}

std::int64_t read_int(const msgpack::object& o, std::int64_t min, std::int64_t max,
                      const char* field) {
  std::int64_t v = 0;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(max))
      throw protocol_error(std::string("Out of range: ") + field + ".");
    v = static_cast<std::int64_t>(o.via.u64);
  } else if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    v = o.via.i64;
  } else {
    throw protocol_error(std::string("Expected an integer for ") + field + ".");
  }
  if (v < min || v > max) throw protocol_error(std::string("Out of range: ") + field + ".");
  return v;
}

}  // namespace

std::string write_invocation(const std::vector<std::string>& excluded,
                             const std::vector<serialization_view>& messages,
                             const std::optional<std::string>& invocation_id,
                             const std::optional<std::string>& return_channel) {
  msgpack::sbuffer buf;
  packer pk(buf);
  const bool result = invocation_id && return_channel;
  pk.pack_array(result ? 4 : 2);
  pk.pack_array(static_cast<std::uint32_t>(excluded.size()));
  for (const auto& id : excluded) pack_str(pk, id);
  pk.pack_map(static_cast<std::uint32_t>(messages.size()));
  for (const auto& [name, bytes] : messages) {
    pack_str(pk, name);
    pack_bin(pk, bytes);
  }
  if (result) {
    pack_str(pk, *invocation_id);
    pack_str(pk, *return_channel);
  }
  return to_string(buf);
}

std::string write_group_command(const redis_group_command& c) {
  msgpack::sbuffer buf;
  packer pk(buf);
  pk.pack_array(5);
  pk.pack_int32(c.id);
  pack_str(pk, c.server);
  pk.pack_uint8(c.action);
  pack_str(pk, c.group);
  pack_str(pk, c.connection_id);
  return to_string(buf);
}

std::string write_ack(std::int32_t id) {
  msgpack::sbuffer buf;
  packer pk(buf);
  pk.pack_array(1);
  pk.pack_int32(id);
  return to_string(buf);
}

std::string write_completion(std::string_view protocol, std::string_view bytes) {
  msgpack::sbuffer buf;
  packer pk(buf);
  pk.pack_array(2);
  pack_str(pk, protocol);
  pack_bin(pk, bytes);
  return to_string(buf);
}

redis_invocation read_invocation(std::string_view data) {
  msgpack::zone zone;
  const msgpack::object root = parse(data, zone, "Invocation");
  const auto& a = envelope(root, 2, "Invocation");
  redis_invocation out;
  const auto& ids = a.ptr[0];
  if (ids.type == msgpack::type::ARRAY) {
    out.excluded.reserve(ids.via.array.size);
    for (std::uint32_t i = 0; i < ids.via.array.size; ++i)
      out.excluded.push_back(read_str(ids.via.array.ptr[i], "an excluded connection id"));
  } else if (ids.type != msgpack::type::NIL) {
    throw protocol_error("Expected an array of excluded connection ids.");
  }
  const auto& map = a.ptr[1];
  if (map.type != msgpack::type::MAP) throw protocol_error("Expected a map of serializations.");
  out.messages.reserve(map.via.map.size);
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    out.messages.push_back({read_str(kv.key, "a protocol name"), read_bin(kv.val, "a message")});
  }
  if (a.size >= 4 && a.ptr[2].type != msgpack::type::NIL) {
    out.invocation_id = read_str(a.ptr[2], "the invocation id");
    out.return_channel = read_str(a.ptr[3], "the return channel");
  }
  return out;
}

redis_group_command read_group_command(std::string_view data) {
  msgpack::zone zone;
  const msgpack::object root = parse(data, zone, "GroupCommand");
  const auto& a = envelope(root, 5, "GroupCommand");
  redis_group_command c;
  c.id = static_cast<std::int32_t>(read_int(a.ptr[0], std::numeric_limits<std::int32_t>::min(),
                                            std::numeric_limits<std::int32_t>::max(),
                                            "the command id"));
  c.server = read_str(a.ptr[1], "the server name");
  c.action = static_cast<std::uint8_t>(read_int(a.ptr[2], 0, 255, "the action"));
  c.group = read_str(a.ptr[3], "the group name");
  c.connection_id = read_str(a.ptr[4], "the connection id");
  return c;
}

std::int32_t read_ack(std::string_view data) {
  msgpack::zone zone;
  const msgpack::object root = parse(data, zone, "Ack");
  const auto& a = envelope(root, 1, "Ack");
  return static_cast<std::int32_t>(read_int(a.ptr[0], std::numeric_limits<std::int32_t>::min(),
                                            std::numeric_limits<std::int32_t>::max(),
                                            "the ack id"));
}

redis_completion read_completion(std::string_view data) {
  msgpack::zone zone;
  const msgpack::object root = parse(data, zone, "CompletionMessage");
  const auto& a = envelope(root, 2, "CompletionMessage");
  return {read_str(a.ptr[0], "the protocol name"), read_bin(a.ptr[1], "the completion")};
}

}  // namespace hubcast::redis

#include <hubcast/protocol/msgpack_hub_protocol.hpp>

#include <type_traits>

#include <hubcast/protocol/msgpack_bounds.hpp>
#include <hubcast/protocol/msgpack_value.hpp>

namespace hubcast::protocol::msgpack_protocol {

namespace mt = msgpack::type;
using packer = string_packer;

void write_varint(std::string& out, std::uint32_t n) {
  do {
    std::uint8_t b = n & 0x7f;
    n >>= 7;
    if (n) b |= 0x80;
    out += static_cast<char>(b);
  } while (n);
}

int read_varint(std::string_view in, std::uint32_t& n) {
  n = 0;
  for (int i = 0; i < 5; ++i) {
    if (static_cast<std::size_t>(i) >= in.size()) return 0;
    auto b = static_cast<std::uint8_t>(in[i]);
    if (i == 4 && b > 0x07) return -1;  // more than 2^31 - 1
    n |= static_cast<std::uint32_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return i + 1;
  }
  return -1;
}

namespace {

struct bad_message : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const msgpack::object& at(const msgpack::object& a, std::uint32_t i) {
  return a.via.array.ptr[i];
}

std::string read_string(const msgpack::object& o, const char* what) {
  if (o.type != mt::STR) throw bad_message(std::string("Reading '") + what + "' as String failed.");
  return std::string(o.via.str.ptr, o.via.str.size);
}

std::optional<std::string> read_optional_string(const msgpack::object& o, const char* what) {
  if (o.type == mt::NIL) return std::nullopt;
  return read_string(o, what);
}

std::int64_t read_int(const msgpack::object& o, const char* what) {
  if (o.type == mt::POSITIVE_INTEGER) return static_cast<std::int64_t>(o.via.u64);
  if (o.type == mt::NEGATIVE_INTEGER) return o.via.i64;
  throw bad_message(std::string("Reading '") + what + "' as Int failed.");
}

header_map read_headers(const msgpack::object& o) {
  if (o.type != mt::MAP) throw bad_message("Reading map length for 'headers' failed.");
  header_map h;
  for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& kv = o.via.map.ptr[i];
    h.emplace_back(read_string(kv.key, "headers"), read_string(kv.val, "headers"));
  }
  return h;
}

raw_value share(const std::shared_ptr<msgpack::zone>& zone, const msgpack::object& o) {
  return raw_value(std::make_shared<const msgpack_value>(msgpack_value{zone, o}));
}

hub_message decode(const msgpack::object& root, const std::shared_ptr<msgpack::zone>& zone,
                   bool& unknown) {
  if (root.type != mt::ARRAY || root.via.array.size == 0)
    throw bad_message("Reading array length failed.");
  auto n = root.via.array.size;
  auto type = read_int(at(root, 0), "type");
  auto need = [&](std::uint32_t k) {
    if (n < k) throw bad_message("Invalid message: too few elements.");
  };
  switch (type) {
    case 1:
    case 4: {
      need(5);
      invocation_message m;
      m.streaming = type == 4;
      m.headers = read_headers(at(root, 1));
      m.invocation_id = read_optional_string(at(root, 2), "invocationId");
      if (m.invocation_id && m.invocation_id->empty()) m.invocation_id.reset();
      if (m.streaming && !m.invocation_id) throw bad_message("Null or empty invocation ID.");
      m.target = read_string(at(root, 3), "target");
      if (m.target.empty()) throw bad_message("Null or empty target.");
      const auto& args = at(root, 4);
      if (args.type != mt::ARRAY) throw bad_message("Reading array length for 'arguments' failed.");
      for (std::uint32_t i = 0; i < args.via.array.size; ++i)
        m.arguments.push_back(share(zone, args.via.array.ptr[i]));
      if (n >= 6) {  // the TS client omits StreamIds (5 elements)
        const auto& ids = at(root, 5);
        if (ids.type != mt::ARRAY)
          throw bad_message("Reading array length for 'streamIds' failed.");
        for (std::uint32_t i = 0; i < ids.via.array.size; ++i)
          m.stream_ids.push_back(read_string(ids.via.array.ptr[i], "streamId"));
      }
      return m;
    }
    case 2: {
      need(4);
      stream_item_message m;
      m.headers = read_headers(at(root, 1));
      m.invocation_id = read_string(at(root, 2), "invocationId");
      m.item = share(zone, at(root, 3));
      return m;
    }
    case 3: {
      need(4);
      completion_message m;
      m.headers = read_headers(at(root, 1));
      m.invocation_id = read_string(at(root, 2), "invocationId");
      auto kind = read_int(at(root, 3), "resultKind");
      if (kind == 1) {
        need(5);
        m.error = read_string(at(root, 4), "error");
      } else if (kind == 3) {
        need(5);
        m.has_result = true;
        m.result = share(zone, at(root, 4));
      } else if (kind != 2) {
        throw bad_message("Invalid invocation result kind.");
      }
      return m;
    }
    case 5: {
      need(3);
      cancel_invocation_message m;
      m.headers = read_headers(at(root, 1));
      m.invocation_id = read_string(at(root, 2), "invocationId");
      return m;
    }
    case 6:
      return ping_message{};
    case 7: {
      need(2);
      close_message m;
      m.error = read_optional_string(at(root, 1), "error");
      if (n >= 3) {
        const auto& r = at(root, 2);
        if (r.type != mt::BOOLEAN) throw bad_message("Reading 'allowReconnect' as Boolean failed.");
        m.allow_reconnect = r.via.boolean;
      }
      return m;
    }
    case 8: {
      need(2);
      return ack_message{read_int(at(root, 1), "sequenceId")};
    }
    case 9: {
      need(2);
      return sequence_message{read_int(at(root, 1), "sequenceId")};
    }
    default:
      unknown = true;
      return ping_message{};
  }
}

// Packs a message body, then prepends its varint length.
// The body goes into a buffer of the thread first (its length comes before it); `body` gets
// the packer and that buffer (to splice a payload's bytes into).
template <class F>
void framed(std::string& out, F&& body) {
  thread_local std::string scratch;
  scratch.clear();
  string_sink sink{&scratch};
  packer pk(sink);
  if constexpr (std::is_invocable_v<F, packer&, std::string&>)
    body(pk, scratch);
  else
    body(pk);
  write_varint(out, static_cast<std::uint32_t>(scratch.size()));
  out.append(scratch);
  if (scratch.capacity() > 1024 * 1024) std::string().swap(scratch);  // after a huge message
}

void pack_str(packer& pk, std::string_view s) {
  pk.pack_str(static_cast<std::uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

class msgpack_hub_protocol final : public hub_protocol {
 public:
  protocol_id id() const override { return protocol_id::messagepack; }
  std::string_view name() const override { return "messagepack"; }
  int version() const override { return 2; }
  transfer_format format() const override { return transfer_format::binary; }

  parse_step parse_next(std::string_view& buffer, std::size_t max_size) const override {
    std::uint32_t len = 0;
    int used = read_varint(buffer, len);
    if (used < 0)
      return parse_step{parse_step::invalid, std::nullopt, "Messages over 2GB are not supported."};
    if (used == 0) return {};
    std::size_t total = static_cast<std::size_t>(used) + len;
    if (max_size != 0 && total > max_size)
      return parse_step{parse_step::too_large, std::nullopt, {}};
    if (buffer.size() < total) return {};
    auto body = buffer.substr(static_cast<std::size_t>(used), len);
    buffer.remove_prefix(total);
    try {
      // Every declared count and length checked against the bytes left before msgpack-cxx
      // allocates anything (msgpack_bounds.hpp); its own limits as a second fence.
      std::string bounds_error;
      if (!check_msgpack_bounds(body, bounds_error))
        throw bad_message("Invalid MessagePack: " + bounds_error + ".");
      auto zone = std::make_shared<msgpack::zone>();
      std::size_t off = 0;
      const msgpack::unpack_limit limits(body.size(), body.size() / 2, body.size(), body.size(),
                                         body.size(), max_msgpack_depth);
      msgpack::object root =
          msgpack::unpack(*zone, body.data(), body.size(), off, nullptr, nullptr, limits);
      if (off != body.size()) throw bad_message("Unexpected data after the message.");
      bool unknown = false;
      auto m = decode(root, zone, unknown);
      if (unknown) return parse_step{parse_step::ignored, std::nullopt, {}};
      return parse_step{parse_step::message, std::move(m), {}};
    } catch (const bad_message& e) {
      return parse_step{parse_step::invalid, std::nullopt, e.what()};
    } catch (const std::exception& e) {
      return parse_step{parse_step::invalid, std::nullopt,
                        std::string("Invalid MessagePack: ") + e.what()};
    }
  }

  // The reference server always writes six elements (empty StreamIds).
  void write_invocation(std::string& out, std::string_view target, const payload& args,
                        std::optional<std::string_view> invocation_id,
                        const encode_options& opt) const override {
    write_client_invocation(out, false, target, args, invocation_id, {}, opt);
  }
  void write_stream_item(std::string& out, std::string_view id, const payload& item,
                         const encode_options& opt) const override {
    framed(out, [&](packer& pk, std::string& buf) {
      pk.pack_array(4);
      pk.pack_int(2);
      pk.pack_map(0);
      pack_str(pk, id);
      item.append_msgpack(buf, opt);
    });
  }
  void write_completion_result(std::string& out, std::string_view id, const payload& result,
                               const encode_options& opt) const override {
    framed(out, [&](packer& pk, std::string& buf) {
      pk.pack_array(5);
      pk.pack_int(3);
      pk.pack_map(0);
      pack_str(pk, id);
      pk.pack_int(3);
      result.append_msgpack(buf, opt);
    });
  }
  void write_completion_error(std::string& out, std::string_view id,
                              std::string_view error) const override {
    framed(out, [&](packer& pk) {
      pk.pack_array(5);
      pk.pack_int(3);
      pk.pack_map(0);
      pack_str(pk, id);
      pk.pack_int(1);
      pack_str(pk, error);
    });
  }
  void write_completion_void(std::string& out, std::string_view id) const override {
    framed(out, [&](packer& pk) {
      pk.pack_array(4);
      pk.pack_int(3);
      pk.pack_map(0);
      pack_str(pk, id);
      pk.pack_int(2);
    });
  }
  void write_ping(std::string& out) const override { out.append("\x02\x91\x06", 3); }
  void write_close(std::string& out, std::optional<std::string_view> error,
                   bool allow_reconnect) const override {
    framed(out, [&](packer& pk) {
      pk.pack_array(3);
      pk.pack_int(7);
      if (error)
        pack_str(pk, *error);
      else
        pk.pack_nil();
      if (allow_reconnect)
        pk.pack_true();
      else
        pk.pack_false();
    });
  }
  void write_ack(std::string& out, std::int64_t id) const override {
    framed(out, [&](packer& pk) {
      pk.pack_array(2);
      pk.pack_int(8);
      pk.pack_int64(id);
    });
  }
  void write_sequence(std::string& out, std::int64_t id) const override {
    framed(out, [&](packer& pk) {
      pk.pack_array(2);
      pk.pack_int(9);
      pk.pack_int64(id);
    });
  }
  // [type, headers, invocationId|nil, target, arguments, streamIds] like the .NET client.
  void write_client_invocation(std::string& out, bool streaming, std::string_view target,
                               const payload& args, std::optional<std::string_view> invocation_id,
                               const std::vector<std::string>& stream_ids,
                               const encode_options& opt) const override {
    framed(out, [&](packer& pk, std::string& buf) {
      pk.pack_array(6);
      pk.pack_int(streaming ? 4 : 1);
      pk.pack_map(0);
      if (invocation_id)
        pack_str(pk, *invocation_id);
      else
        pk.pack_nil();
      pack_str(pk, target);
      args.append_msgpack(buf, opt);
      pk.pack_array(static_cast<std::uint32_t>(stream_ids.size()));
      for (const auto& sid : stream_ids) pack_str(pk, sid);
    });
  }
  void write_cancel_invocation(std::string& out, std::string_view id) const override {
    framed(out, [&](packer& pk) {
      pk.pack_array(3);
      pk.pack_int(5);
      pk.pack_map(0);
      pack_str(pk, id);
    });
  }
};

const msgpack_hub_protocol the_instance;

}  // namespace

const hub_protocol& instance() {
  return the_instance;
}

}  // namespace hubcast::protocol::msgpack_protocol

// msgpack_writer and msgpack_view over msgpack-cxx: the only place their public forms meet it.
#include <hubcast/protocol/msgpack_value.hpp>
#include <hubcast/protocol/raw_value.hpp>

namespace hubcast {

namespace {

// msgpack-cxx's packer holds a reference to its sink: one per call.
template <class F>
void pack(std::string* out, F&& f) {
  protocol::string_sink sink{out};
  protocol::string_packer pk(sink);
  f(pk);
}

const msgpack::object& obj(msgpack_view v) {
  return protocol::msgpack_access::object(v);
}

}  // namespace

void msgpack_writer::write_nil() {
  pack(out_, [](auto& pk) { pk.pack_nil(); });
}
void msgpack_writer::write_bool(bool v) {
  pack(out_, [v](auto& pk) { v ? pk.pack_true() : pk.pack_false(); });
}
void msgpack_writer::write_int(std::int64_t v) {
  pack(out_, [v](auto& pk) { pk.pack_int64(v); });
}
void msgpack_writer::write_uint(std::uint64_t v) {
  pack(out_, [v](auto& pk) { pk.pack_uint64(v); });
}
void msgpack_writer::write_double(double v) {
  pack(out_, [v](auto& pk) { pk.pack_double(v); });
}
void msgpack_writer::write_str(std::string_view s) {
  pack(out_, [s](auto& pk) {
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  });
}
void msgpack_writer::write_bin(std::span<const std::uint8_t> b) {
  pack(out_, [b](auto& pk) {
    pk.pack_bin(static_cast<std::uint32_t>(b.size()));
    pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<std::uint32_t>(b.size()));
  });
}
void msgpack_writer::write_ext(std::int8_t type, std::string_view data) {
  pack(out_, [&](auto& pk) {
    pk.pack_ext(data.size(), type);
    pk.pack_ext_body(data.data(), static_cast<std::uint32_t>(data.size()));
  });
}
void msgpack_writer::write_array_header(std::uint32_t n) {
  pack(out_, [n](auto& pk) { pk.pack_array(n); });
}
void msgpack_writer::write_map_header(std::uint32_t n) {
  pack(out_, [n](auto& pk) { pk.pack_map(n); });
}

msgpack_view::kind msgpack_view::type() const {
  switch (obj(*this).type) {
    case msgpack::type::NIL:
      return kind::nil;
    case msgpack::type::BOOLEAN:
      return kind::boolean;
    case msgpack::type::POSITIVE_INTEGER:
      return kind::positive_integer;
    case msgpack::type::NEGATIVE_INTEGER:
      return kind::negative_integer;
    case msgpack::type::FLOAT32:
      return kind::float32;
    case msgpack::type::FLOAT64:
      return kind::float64;
    case msgpack::type::STR:
      return kind::str;
    case msgpack::type::BIN:
      return kind::bin;
    case msgpack::type::ARRAY:
      return kind::array;
    case msgpack::type::MAP:
      return kind::map;
    case msgpack::type::EXT:
      return kind::ext;
  }
  return kind::nil;
}

bool msgpack_view::as_bool() const {
  return obj(*this).via.boolean;
}
std::uint64_t msgpack_view::as_uint() const {
  return obj(*this).via.u64;
}
std::int64_t msgpack_view::as_int() const {
  return obj(*this).via.i64;
}
double msgpack_view::as_double() const {
  return obj(*this).via.f64;
}
std::string_view msgpack_view::as_str() const {
  const auto& o = obj(*this);
  return std::string_view(o.via.str.ptr, o.via.str.size);
}
std::span<const std::uint8_t> msgpack_view::as_bin() const {
  const auto& o = obj(*this);
  return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr),
                                       o.via.bin.size);
}
std::int8_t msgpack_view::ext_type() const {
  return obj(*this).via.ext.type();
}
std::string_view msgpack_view::ext_data() const {
  const auto& o = obj(*this);
  return std::string_view(o.via.ext.data(), o.via.ext.size);
}
std::uint32_t msgpack_view::size() const {
  const auto& o = obj(*this);
  if (o.type == msgpack::type::ARRAY) return o.via.array.size;
  if (o.type == msgpack::type::MAP) return o.via.map.size;
  return 0;
}
msgpack_view msgpack_view::element(std::uint32_t i) const {
  return msgpack_view(&obj(*this).via.array.ptr[i]);
}
msgpack_view msgpack_view::key(std::uint32_t i) const {
  return msgpack_view(&obj(*this).via.map.ptr[i].key);
}
msgpack_view msgpack_view::value(std::uint32_t i) const {
  return msgpack_view(&obj(*this).via.map.ptr[i].val);
}

namespace protocol {
msgpack_view raw_value::as_msgpack() const {
  return msgpack_access::view(mp_->object);
}
}  // namespace protocol

}  // namespace hubcast

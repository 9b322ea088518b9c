// Writes MessagePack values into a string: what hubcast's typed conversions (value_codec.hpp)
// write through, so that code using them needs no MessagePack library headers. The encoding is
// msgpack-cxx's (msgpack_writer.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace hubcast {

class msgpack_writer {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit msgpack_writer(std::string& out) : out_(&out) {}

  void write_nil();
  void write_bool(bool v);
  void write_int(std::int64_t v);    // the smallest form that holds it
  void write_uint(std::uint64_t v);  // the smallest form that holds it
  void write_double(double v);
  void write_str(std::string_view s);
  void write_bin(std::span<const std::uint8_t> b);
  void write_ext(std::int8_t type, std::string_view data);
  // Headers: `n` values (an array) or `n` key/value pairs (a map) follow.
  void write_array_header(std::uint32_t n);
  void write_map_header(std::uint32_t n);
  // Bytes that already are one or more whole MessagePack values.
  void write_raw(std::string_view encoded) { out_->append(encoded); }

  std::string& buffer() { return *out_; }

 private:
  std::string* out_;
};

}  // namespace hubcast

// A MessagePack value as hubcast's MessagePack protocol parsed it, read without MessagePack
// library headers (value_codec.hpp binds it to C++ types through this). A view: valid while the
// message it came from is (a protocol::raw_value keeps it alive).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace hubcast {

namespace protocol {
struct msgpack_access;  // protocol/msgpack_value.hpp (internal): makes views of parsed objects
}

class msgpack_view {
 public:
  enum class kind {
    nil,
    boolean,
    positive_integer,
    negative_integer,
    float32,
    float64,
    str,
    bin,
    array,
    map,
    ext
  };

  kind type() const;
  bool is_nil() const { return type() == kind::nil; }
  // Each reader requires its kind (an other kind is a programming error: check type() first).
  bool as_bool() const;
  std::uint64_t as_uint() const;  // positive_integer
  std::int64_t as_int() const;    // negative_integer
  double as_double() const;       // float32, float64
  std::string_view as_str() const;
  std::span<const std::uint8_t> as_bin() const;
  std::int8_t ext_type() const;
  std::string_view ext_data() const;
  // Arrays and maps.
  std::uint32_t size() const;
  msgpack_view element(std::uint32_t i) const;  // array, i < size()
  msgpack_view key(std::uint32_t i) const;      // map, i < size()
  msgpack_view value(std::uint32_t i) const;    // map, i < size()

 private:
  friend struct protocol::msgpack_access;
  explicit msgpack_view(const void* object) : object_(object) {}
  const void* object_;  // a msgpack::object
};

}  // namespace hubcast

// Internal to hubcast: MessagePack values as msgpack-cxx holds them. Public headers use
// msgpack_writer / msgpack_view instead, so that users never need msgpack-cxx's headers.
#pragma once

#include <memory>
#include <string>

#include <msgpack.hpp>

#include <hubcast/protocol/msgpack_view.hpp>
#include <hubcast/protocol/msgpack_writer.hpp>

namespace hubcast::protocol {

// One value of a parsed MessagePack message; the zone owns the memory `object` points into.
struct msgpack_value {
  std::shared_ptr<msgpack::zone> zone;
  msgpack::object object;
};

struct msgpack_access {
  static msgpack_view view(const msgpack::object& o) { return msgpack_view(&o); }
  static const msgpack::object& object(msgpack_view v) {
    return *static_cast<const msgpack::object*>(v.object_);
  }
};

// msgpack-cxx's packer appending to a std::string.
struct string_sink {
  std::string* out;
  void write(const char* data, std::size_t n) { out->append(data, n); }
};
using string_packer = msgpack::packer<string_sink>;

}  // namespace hubcast::protocol

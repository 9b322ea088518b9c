#pragma once

#include <memory>

#include <msgpack.hpp>

namespace hubcast::protocol {

// One value of a parsed MessagePack message; the zone owns the memory `object` points into.
struct msgpack_value {
  std::shared_ptr<msgpack::zone> zone;
  msgpack::object object;
};

}  // namespace hubcast::protocol

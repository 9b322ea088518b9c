// The `messagepack` hub protocol (signalr-protocol.md §5.2, §6.2): varint-length-prefixed
// MessagePack arrays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <hubcast/protocol/hub_protocol.hpp>

namespace hubcast::protocol::msgpack_protocol {

const hub_protocol& instance();

// Little-endian base-128 length prefix, 1–5 bytes.
void write_varint(std::string& out, std::uint32_t n);
// 0: incomplete; -1: invalid (over 5 bytes or > 2^31-1); otherwise bytes used.
int read_varint(std::string_view in, std::uint32_t& n);

}  // namespace hubcast::protocol::msgpack_protocol

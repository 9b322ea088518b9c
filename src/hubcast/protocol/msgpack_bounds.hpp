// A walk over MessagePack bytes before msgpack-cxx unpacks them: msgpack-cxx allocates every
// array and map at the size it declares, so a 6-byte frame declaring an array32 of 2^32-1
// elements asks for 96 GiB. The walk refuses any container whose declared elements (one byte
// each at least), added to those still pending, exceed the bytes left; and any string, bin or
// ext longer than what remains. What passes allocates at most ~24 bytes per input byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hubcast::protocol {

// The MessagePack object graph depth ASP.NET Core accepts from untrusted peers (MessagePack
// for C#'s MessagePackSecurity.UntrustedData).
inline constexpr std::size_t max_msgpack_depth = 500;

// True when `bytes` hold exactly one well-bounded MessagePack object (nothing after it).
// Otherwise false with a reason in `error`.
bool check_msgpack_bounds(std::string_view bytes, std::string& error,
                          std::size_t max_depth = max_msgpack_depth);

}  // namespace hubcast::protocol

// The MessagePack hub protocol as a server reads it: varint-framed messages, each parsed (the
// bounds walk, then msgpack-cxx) and its values bound; the 32 KB receive limit of the defaults.
#include <cstddef>
#include <cstdint>

#include "hub_values.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hubcast_fuzz::parse_all("messagepack", data, size);
  return 0;
}

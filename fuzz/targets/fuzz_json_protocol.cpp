// The JSON hub protocol as a server reads it: records split on 0x1E, each parsed and its values
// bound; the 32 KB receive limit of the defaults.
#include <cstddef>
#include <cstdint>

#include "hub_values.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hubcast_fuzz::parse_all("json", data, size);
  return 0;
}

// The handshake request (always JSON, up to the first 0x1E).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <hubcast/protocol/handshake.hpp>
#include <hubcast/protocol/hub_protocol.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto end = in.find('\x1e');
  auto r = hubcast::protocol::parse_handshake_request(in.substr(0, end));
  if (auto* ok = std::get_if<hubcast::protocol::handshake_request>(&r))
    (void)hubcast::protocol::find_protocol(ok->protocol);
  else
    (void)hubcast::protocol::handshake_failure(
        std::get<hubcast::protocol::handshake_error>(r).detail);
  return 0;
}

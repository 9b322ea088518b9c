// The WebSocket frame reader (http/websocket_frames.cpp) as the server and the C++ client drive
// it: bytes in pieces (the first input byte picks the piece size), the unconsumed rest kept and
// fed again, every event handled; the same bytes read as a server (masked client frames) and as
// a client (unmasked server frames). Never a crash, never memory past the message limit plus
// one piece.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <hubcast/http/websocket_frames.hpp>

namespace {
void read_as(hubcast::http::ws_role role, const std::uint8_t* data, std::size_t size) {
  const std::size_t step = 1 + data[0] % 64;
  constexpr std::size_t max_message = 4096;
  hubcast::http::frame_reader reader(max_message, role);
  std::string held;
  for (std::size_t i = 1; i < size; i += step) {
    held.append(reinterpret_cast<const char*>(data) + i, std::min(step, size - i));
    for (;;) {
      auto r = reader.next(std::span<char>(held.data(), held.size()));
      if (r.consumed > held.size()) std::abort();
      held.erase(0, r.consumed);
      using ev = hubcast::http::frame_reader::event;
      if (r.kind == ev::need_more) break;
      if (r.kind == ev::error) return;  // the connection closes here
      if (r.kind == ev::message && reader.take_message().size() > max_message) std::abort();
      if ((r.kind == ev::ping || r.kind == ev::pong || r.kind == ev::close) &&
          r.payload.size() > 125)
        std::abort();
    }
    if (reader.held_bytes() > max_message) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  read_as(hubcast::http::ws_role::server, data, size);
  read_as(hubcast::http::ws_role::client, data, size);
  return 0;
}

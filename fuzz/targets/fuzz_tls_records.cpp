// TLS 1.3 records from a hostile client after the handshake (http/tls_records.cpp), as
// tls_session opens them: what is left of an incomplete record is offered again with more.
// The first byte picks the suite and the mode: the bytes as they are (headers, lengths, tags),
// or sealed by the client's side as records of any content type (a type byte, a length byte,
// the body), which reaches the inner content: types, padding, alerts, KeyUpdate. Never a crash,
// never more data than was sent, nothing after a close_notify or an error.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <hubcast/http/tls_records.hpp>

using hubcast::http::detail::tls13_records;
using hubcast::http::detail::tls13_suite;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto suite = static_cast<tls13_suite>(data[0] % 3);
  const bool sealed = (data[0] / 3) % 2 == 1;
  const std::size_t step = 1 + data[0] / 6;  // the pieces the socket delivers
  const std::size_t secret_size = suite == tls13_suite::aes_256_gcm_sha384 ? 48 : 32;
  std::array<unsigned char, 48> client_secret{};
  std::array<unsigned char, 48> server_secret{};
  client_secret.fill(0x11);
  server_secret.fill(0x22);
  std::span<const unsigned char> c(client_secret.data(), secret_size);
  std::span<const unsigned char> s(server_secret.data(), secret_size);
  auto server = tls13_records::create(suite, c, 0, s, 0, 3);
  auto client = tls13_records::create(suite, s, 0, c, 0);
  if (!server || !client) std::abort();

  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string wire;
  std::size_t sent = 0;  // plaintext bytes of every kind the client sealed
  if (!sealed) {
    wire.assign(in);
  } else {
    for (std::size_t i = 0; i + 2 <= in.size();) {
      const auto type = static_cast<unsigned char>(in[i]);
      const std::size_t n =
          std::min<std::size_t>(static_cast<unsigned char>(in[i + 1]), in.size() - i - 2);
      if (client->seal_record(type, in.substr(i + 2, n), wire)) std::abort();
      sent += n;
      i += 2 + n;
    }
  }

  std::string received;  // the unopened rest, as tls_session keeps it
  std::string plain;
  std::string reply;
  for (std::size_t i = 0; i < wire.size(); i += step) {
    received.append(wire, i, step);
    auto r = server->open(received, plain, reply);
    if (r.consumed > received.size()) std::abort();
    if (r.ec || r.closed) break;
    received.erase(0, r.consumed);
    if (received.size() >= tls13_records::max_record) std::abort();  // a whole record stays
  }
  if (sealed ? plain.size() > sent : plain.size() > wire.size()) std::abort();
  // The server answers: a KeyUpdate it owes goes first, and its records stay whole.
  std::string back;
  if (server->seal(plain.substr(0, 64), back)) std::abort();
  return 0;
}

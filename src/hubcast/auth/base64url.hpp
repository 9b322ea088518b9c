#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hubcast::auth {

// RFC 4648 §5 without padding (JWT segments, JWKS members).
std::string base64url_encode(std::string_view bytes);
// nullopt on any character outside the alphabet or an impossible length. Padding is refused.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace hubcast::auth

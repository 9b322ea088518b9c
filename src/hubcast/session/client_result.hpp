// What a client answered to a server-to-client invocation (client results, protocol §7.2).
#pragma once

#include <optional>
#include <string>

#include <hubcast/protocol/raw_value.hpp>

namespace hubcast::session {

struct client_result {
  std::optional<std::string> error;  // set: the client answered with an error (or none came)
  protocol::raw_value value;
  bool has_value = false;
};

}  // namespace hubcast::session

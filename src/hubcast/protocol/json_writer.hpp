#pragma once

#include <string>
#include <string_view>

namespace hubcast::protocol {

// Appends `s` as a JSON string literal (quotes included). Control characters and the record
// separator are escaped, so 0x1E can never appear inside a record.
void append_json_string(std::string& out, std::string_view s);

}  // namespace hubcast::protocol

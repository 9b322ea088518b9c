// JSON text to boost::json::value with every number read exactly: a double is the nearest
// double to the text (std::from_chars), as System.Text.Json and JavaScript read it. Boost.JSON
// 1.81's own parser rounds long mantissas (17+ significant digits) by up to an ulp or two, so a
// double written in its shortest round-trip form could come back as another double.
#pragma once

#include <string_view>

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

namespace hubcast::protocol {

// As boost::json::parse(text, ec, {}, options); on error, ec is set and the value is null.
boost::json::value parse_json(std::string_view text, boost::system::error_code& ec,
                              const boost::json::parse_options& options = {});

// The nearest double to a JSON number's text; false if it is not one (or out of range).
bool exact_double(std::string_view number, double& out);

}  // namespace hubcast::protocol

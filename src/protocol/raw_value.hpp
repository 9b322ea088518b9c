// A value exactly as a hub protocol parsed it, before it is bound to a C++ type.
// JSON values are boost::json trees; the MessagePack protocol adds its own alternative.
#pragma once

#include <boost/json/value.hpp>

namespace hubcast::protocol {

class raw_value {
 public:
  raw_value() = default;
  explicit raw_value(boost::json::value v) : json_(std::move(v)) {}

  const boost::json::value& json() const { return json_; }
  boost::json::value& json() { return json_; }

 private:
  boost::json::value json_;
};

}  // namespace hubcast::protocol

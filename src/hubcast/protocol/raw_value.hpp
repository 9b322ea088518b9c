// A value exactly as a hub protocol parsed it, before it is bound to a C++ type: a JSON tree,
// or a MessagePack object that shares the zone of its message.
#pragma once

#include <memory>

#include <boost/json/value.hpp>

#include <hubcast/protocol/msgpack_view.hpp>

namespace hubcast::protocol {

struct msgpack_value;  // protocol/msgpack_value.hpp

class raw_value {
 public:
  raw_value() = default;
  explicit raw_value(boost::json::value v) : json_(std::move(v)) {}
  explicit raw_value(std::shared_ptr<const msgpack_value> v) : mp_(std::move(v)) {}

  bool is_msgpack() const { return mp_ != nullptr; }
  const boost::json::value& json() const { return json_; }
  boost::json::value& json() { return json_; }
  // The MessagePack value (is_msgpack()): valid while this raw_value lives.
  msgpack_view as_msgpack() const;
  // Internal: msgpack-cxx's form (protocol/msgpack_value.hpp).
  const msgpack_value& msgpack() const { return *mp_; }

 private:
  boost::json::value json_;
  std::shared_ptr<const msgpack_value> mp_;
};

}  // namespace hubcast::protocol

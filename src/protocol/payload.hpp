// A type-erased outgoing value (method arguments, a result, a stream item). It is written
// once per protocol in use: a broadcast to 10,000 connections serializes its payload once.
#pragma once

#include <memory>
#include <utility>

#include "protocol/value_codec.hpp"

namespace hubcast::protocol {

class payload {
 public:
  payload() = default;

  template <class T>
  static payload of(T value) {
    payload p;
    p.value_ = std::make_shared<const T>(std::move(value));
    p.to_json_ = [](const void* v, const encode_options& o) {
      return hubcast::to_json(*static_cast<const T*>(v), o);
    };
    p.to_msgpack_ = [](const void* v, codec_detail::msgpack_packer& pk, const encode_options& o) {
      hubcast::to_msgpack(pk, *static_cast<const T*>(v), o);
    };
    return p;
  }

  // Arguments of an invocation: always a JSON array / MessagePack array.
  template <class... A>
  static payload arguments(A&&... a) {
    return of(std::tuple<std::decay_t<A>...>(std::forward<A>(a)...));
  }

  explicit operator bool() const { return to_json_ != nullptr; }

  boost::json::value to_json(const encode_options& o) const {
    return to_json_ ? to_json_(value_.get(), o) : boost::json::value(nullptr);
  }
  void to_msgpack(codec_detail::msgpack_packer& pk, const encode_options& o) const {
    if (to_msgpack_)
      to_msgpack_(value_.get(), pk, o);
    else
      pk.pack_nil();
  }

 private:
  std::shared_ptr<const void> value_;
  boost::json::value (*to_json_)(const void*, const encode_options&) = nullptr;
  void (*to_msgpack_)(const void*, codec_detail::msgpack_packer&, const encode_options&) = nullptr;
};

}  // namespace hubcast::protocol

// A type-erased outgoing value (method arguments, a result, a stream item). It is written
// once per protocol in use: a broadcast to 10,000 connections serializes its payload once.
#pragma once

#include <memory>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <utility>

#include <hubcast/protocol/value_codec.hpp>

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
    p.to_msgpack_ = [](const void* v, std::string& out, const encode_options& o) {
      msgpack_writer w(out);
      hubcast::to_msgpack(w, *static_cast<const T*>(v), o);
    };
    return p;
  }

  // A value already encoded in both protocols (e.g. one market tick shared by every stream):
  // writers splice the bytes instead of encoding per recipient.
  static payload preserialized(std::shared_ptr<const std::string> json,
                               std::shared_ptr<const std::string> msgpack) {
    payload p;
    p.json_text_ = std::move(json);
    p.msgpack_bytes_ = std::move(msgpack);
    return p;
  }
  template <class T>
  static payload preserialize(const T& value, const encode_options& o) {
    auto of_value = of(value);
    std::string json;
    of_value.append_json(json, o);
    std::string msgpack;
    of_value.append_msgpack(msgpack, o);
    return preserialized(std::make_shared<const std::string>(std::move(json)),
                         std::make_shared<const std::string>(std::move(msgpack)));
  }

  // Arguments of an invocation: always a JSON array / MessagePack array.
  template <class... A>
  static payload arguments(A&&... a) {
    return of(std::tuple<std::decay_t<A>...>(std::forward<A>(a)...));
  }

  explicit operator bool() const { return to_json_ != nullptr || json_text_ != nullptr; }

  boost::json::value to_json(const encode_options& o) const {
    if (json_text_) return boost::json::parse(*json_text_);
    return to_json_ ? to_json_(value_.get(), o) : boost::json::value(nullptr);
  }
  // Appends the value as JSON text.
  void append_json(std::string& out, const encode_options& o) const {
    if (json_text_)
      out += *json_text_;
    else
      out += boost::json::serialize(to_json(o));
  }
  // Appends the value as MessagePack.
  void append_msgpack(std::string& out, const encode_options& o) const {
    if (msgpack_bytes_) {
      out += *msgpack_bytes_;
    } else if (to_msgpack_) {
      to_msgpack_(value_.get(), out, o);
    } else {
      msgpack_writer(out).write_nil();
    }
  }

 private:
  std::shared_ptr<const void> value_;
  boost::json::value (*to_json_)(const void*, const encode_options&) = nullptr;
  void (*to_msgpack_)(const void*, std::string&, const encode_options&) = nullptr;
  std::shared_ptr<const std::string> json_text_;
  std::shared_ptr<const std::string> msgpack_bytes_;
};

}  // namespace hubcast::protocol

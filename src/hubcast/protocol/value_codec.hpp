// Mapping between C++ values and hub protocol values, written once per type family:
// numbers, bool, strings, vectors, optional, string-keyed maps, tuples, hubcast::bytes,
// hubcast::date_time, hubcast::decimal, boost::json::value (pass-through) and structs described
// with BOOST_DESCRIBE_STRUCT. Hub authors never write per-call conversions.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <hubcast/core/ascii.hpp>
#include <hubcast/protocol/msgpack_view.hpp>
#include <hubcast/protocol/msgpack_writer.hpp>
#include <hubcast/protocol/raw_value.hpp>

namespace hubcast {

// Raw bytes: base64 in JSON, `bin` in MessagePack.
struct bytes {
  std::vector<std::uint8_t> data;
  bool operator==(const bytes&) const = default;
};

// A UTC instant: ISO 8601 with `Z` in JSON, the timestamp extension in MessagePack.
using date_time = std::chrono::sys_time<std::chrono::microseconds>;

// Thrown when a protocol value cannot be bound to the requested C++ type.
class binding_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A base-10 fixed-point number, like C#'s `decimal` on the wire: a JSON number (what
// System.Text.Json writes) and a MessagePack string (what MessagePack-CSharp writes and the
// only form it reads back into a `decimal`). value = units / 10^scale, scale 0..18.
struct decimal {
  std::int64_t units = 0;
  std::uint8_t scale = 0;

  // Rounds half away from zero to `scale` digits after the point.
  static decimal from_double(double v, int scale);
  // "123.45", "-0.05", "7", "1e3" and "1.5E-2" (throws binding_error on anything else or overflow).
  static decimal parse(std::string_view text);
  double to_double() const;
  std::string to_string() const;  // plain notation, exactly `scale` digits after the point
  friend bool operator==(const decimal& a, const decimal& b) { return a.compare(b) == 0; }
  int compare(const decimal& other) const;
};

enum class naming_policy {
  camel_case,   // like ASP.NET Core's JSON default: `last_price` and `LastPrice` become `lastPrice`
  pascal_case,  // like ASP.NET Core's MessagePack default (C# names): `last_price` -> `LastPrice`
  as_declared,  // member names exactly as written in C++
};

struct encode_options {
  naming_policy naming = naming_policy::camel_case;           // JSON
  naming_policy msgpack_naming = naming_policy::pascal_case;  // MessagePack
};

namespace codec_detail {

// The members a described struct maps: its public ones and those of its described public bases
// (as System.Text.Json serializes inherited properties).
inline constexpr unsigned codec_members =
    boost::describe::mod_public | boost::describe::mod_inherited;

// A double as `F`: a finite value past float's range is a binding error (as System.Text.Json
// refuses it), not an undefined conversion.
template <class F>
F narrow_float(double d) {
  if constexpr (sizeof(F) < sizeof(double)) {
    if (d == d && d - d == 0 &&
        (d > static_cast<double>(std::numeric_limits<F>::max()) ||
         d < -static_cast<double>(std::numeric_limits<F>::max())))
      throw binding_error("number out of range");
  }
  return static_cast<F>(d);
}

// .NET's DateTime range in Unix seconds: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
inline constexpr std::int64_t min_date_time_seconds = -62135596800;
inline constexpr std::int64_t max_date_time_seconds = 253402300799;

std::string base64_encode(const std::vector<std::uint8_t>& data);
std::vector<std::uint8_t> base64_decode(std::string_view text);  // throws binding_error
std::string format_date_time(date_time t);
date_time parse_date_time(std::string_view text);  // throws binding_error
std::string member_name(std::string_view declared, naming_policy policy);
using ascii::iequals;  // member names match ignoring ASCII case

void pack_date_time(msgpack_writer& w, date_time t);
date_time unpack_date_time(msgpack_view o);  // timestamp ext or ISO string
decimal unpack_decimal(msgpack_view o);      // string (MessagePack-CSharp) or number
// A JSON double: the shortest decimal that prints back to it (at most 15 significant digits).
decimal decimal_from_json_double(double v);
void pack_json(msgpack_writer& w, const boost::json::value& v);
boost::json::value msgpack_to_json(msgpack_view o);

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class V, class C, class A>
struct is_string_map<std::map<std::string, V, C, A>> : std::true_type {};
template <class V, class H, class E, class A>
struct is_string_map<std::unordered_map<std::string, V, H, E, A>> : std::true_type {};
template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};
template <class T, std::size_t N>
struct is_std_array : std::false_type {};

template <class T>
constexpr bool is_described_struct =
    boost::describe::has_describe_members<T>::value&& std::is_class_v<T>;

}  // namespace codec_detail

template <class T>
boost::json::value to_json(const T& v, const encode_options& opt = {});

template <class T>
T from_json(const boost::json::value& v);

template <class T>
boost::json::value to_json(const T& v, const encode_options& opt) {
  using namespace codec_detail;
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, boost::json::value>) {
    return v;
  } else if constexpr (std::is_same_v<U, std::nullptr_t>) {
    return boost::json::value(nullptr);
  } else if constexpr (std::is_same_v<U, bool>) {
    return boost::json::value(v);
  } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
    return boost::json::value(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_integral_v<U>) {
    return boost::json::value(static_cast<std::uint64_t>(v));
  } else if constexpr (std::is_floating_point_v<U>) {
    return boost::json::value(static_cast<double>(v));
  } else if constexpr (std::is_enum_v<U>) {
    return boost::json::value(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
    return boost::json::value(boost::json::string_view(std::string_view(v)));
  } else if constexpr (std::is_same_v<U, bytes>) {
    return boost::json::value(base64_encode(v.data));
  } else if constexpr (std::is_same_v<U, date_time>) {
    return boost::json::value(format_date_time(v));
  } else if constexpr (std::is_same_v<U, decimal>) {
    if (v.scale == 0) return boost::json::value(v.units);
    return boost::json::value(v.to_double());
  } else if constexpr (is_optional<U>::value) {
    if (!v) return boost::json::value(nullptr);
    return to_json(*v, opt);
  } else if constexpr (is_vector<U>::value) {
    boost::json::array a;
    a.reserve(v.size());
    for (const auto& e : v) a.push_back(to_json(e, opt));
    return a;
  } else if constexpr (is_string_map<U>::value) {
    boost::json::object o;
    for (const auto& [k, e] : v) o[k] = to_json(e, opt);
    return o;
  } else if constexpr (is_tuple<U>::value) {
    boost::json::array a;
    a.reserve(std::tuple_size_v<U>);
    std::apply([&](const auto&... e) { (a.push_back(to_json(e, opt)), ...); }, v);
    return a;
  } else if constexpr (is_described_struct<U>) {
    boost::json::object o;
    using members = boost::describe::describe_members<U, codec_members>;
    boost::mp11::mp_for_each<members>(
        [&](auto d) { o[member_name(d.name, opt.naming)] = to_json(v.*d.pointer, opt); });
    return o;
  } else {
    static_assert(sizeof(U) == 0,
                  "hubcast: no mapping for this type; describe it with BOOST_DESCRIBE_STRUCT");
  }
}

template <class T>
T from_json(const boost::json::value& v) {
  using namespace codec_detail;
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, boost::json::value>) {
    return v;
  } else if constexpr (std::is_same_v<U, bool>) {
    if (!v.is_bool()) throw binding_error("expected a boolean");
    return v.get_bool();
  } else if constexpr (std::is_integral_v<U> || std::is_enum_v<U>) {
    using I = std::conditional_t<std::is_enum_v<U>, std::int64_t, U>;
    if (v.is_int64()) {
      auto x = v.get_int64();
      if constexpr (std::is_unsigned_v<I>) {
        if (x < 0 || static_cast<std::uint64_t>(x) > std::numeric_limits<I>::max())
          throw binding_error("integer out of range");
      } else {
        if (x < std::numeric_limits<I>::min() || x > std::numeric_limits<I>::max())
          throw binding_error("integer out of range");
      }
      return static_cast<U>(x);
    }
    if (v.is_uint64()) {
      auto x = v.get_uint64();
      if (x > static_cast<std::uint64_t>(std::numeric_limits<I>::max()))
        throw binding_error("integer out of range");
      return static_cast<U>(x);
    }
    if (v.is_double()) {
      double d = v.get_double();
      // Range first: casting 3e96 (or NaN) to an integer is undefined behaviour.
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        throw binding_error("integer out of range");
      if (d != static_cast<double>(static_cast<std::int64_t>(d)))
        throw binding_error("expected an integer");
      return from_json<U>(boost::json::value(static_cast<std::int64_t>(d)));
    }
    throw binding_error("expected an integer");
  } else if constexpr (std::is_floating_point_v<U>) {
    if (v.is_double()) return narrow_float<U>(v.get_double());
    if (v.is_int64()) return static_cast<U>(v.get_int64());
    if (v.is_uint64()) return static_cast<U>(v.get_uint64());
    throw binding_error("expected a number");
  } else if constexpr (std::is_same_v<U, std::string>) {
    if (!v.is_string()) throw binding_error("expected a string");
    return std::string(v.get_string());
  } else if constexpr (std::is_same_v<U, bytes>) {
    if (!v.is_string()) throw binding_error("expected a base64 string");
    return bytes{base64_decode(v.get_string())};
  } else if constexpr (std::is_same_v<U, date_time>) {
    if (!v.is_string()) throw binding_error("expected a date-time string");
    return parse_date_time(v.get_string());
  } else if constexpr (std::is_same_v<U, decimal>) {
    if (v.is_string()) return decimal::parse(v.get_string());
    if (v.is_int64()) return decimal{v.get_int64(), 0};
    if (v.is_uint64() && v.get_uint64() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      return decimal{static_cast<std::int64_t>(v.get_uint64()), 0};
    if (v.is_double()) return decimal_from_json_double(v.get_double());
    throw binding_error("expected a number");
  } else if constexpr (is_optional<U>::value) {
    if (v.is_null()) return U{};
    return U{from_json<typename U::value_type>(v)};
  } else if constexpr (is_vector<U>::value) {
    if (!v.is_array()) throw binding_error("expected an array");
    U out;
    out.reserve(v.get_array().size());
    for (const auto& e : v.get_array()) out.push_back(from_json<typename U::value_type>(e));
    return out;
  } else if constexpr (is_string_map<U>::value) {
    if (!v.is_object()) throw binding_error("expected an object");
    U out;
    for (const auto& kv : v.get_object())
      out.emplace(std::string(kv.key()), from_json<typename U::mapped_type>(kv.value()));
    return out;
  } else if constexpr (is_described_struct<U>) {
    if (!v.is_object()) throw binding_error("expected an object");
    static_assert(std::is_default_constructible_v<U>,
                  "described structs must be default-constructible");
    U out{};
    const auto& o = v.get_object();
    using members = boost::describe::describe_members<U, codec_members>;
    boost::mp11::mp_for_each<members>([&](auto d) {
      // Property names match case-insensitively, as with ASP.NET Core's web defaults.
      for (const auto& kv : o) {
        if (iequals(kv.key(), d.name) ||
            iequals(kv.key(), member_name(d.name, naming_policy::camel_case))) {
          out.*d.pointer = from_json<std::remove_cvref_t<decltype(out.*d.pointer)>>(kv.value());
          return;
        }
      }
    });
    return out;
  } else {
    static_assert(sizeof(U) == 0,
                  "hubcast: no mapping for this type; describe it with BOOST_DESCRIBE_STRUCT");
  }
}

template <class T>
void to_msgpack(msgpack_writer& w, const T& v, const encode_options& opt = {});
template <class T>
T from_msgpack(msgpack_view o);

template <class T>
void to_msgpack(msgpack_writer& w, const T& v, const encode_options& opt) {
  using namespace codec_detail;
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<U, boost::json::value>) {
    pack_json(w, v);
  } else if constexpr (std::is_same_v<U, std::nullptr_t>) {
    w.write_nil();
  } else if constexpr (std::is_same_v<U, bool>) {
    w.write_bool(v);
  } else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
    w.write_int(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_integral_v<U>) {
    w.write_uint(static_cast<std::uint64_t>(v));
  } else if constexpr (std::is_floating_point_v<U>) {
    w.write_double(static_cast<double>(v));
  } else if constexpr (std::is_enum_v<U>) {
    w.write_int(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
    w.write_str(std::string_view(v));
  } else if constexpr (std::is_same_v<U, bytes>) {
    w.write_bin(v.data);
  } else if constexpr (std::is_same_v<U, date_time>) {
    pack_date_time(w, v);
  } else if constexpr (std::is_same_v<U, decimal>) {
    w.write_str(v.to_string());
  } else if constexpr (is_optional<U>::value) {
    if (!v)
      w.write_nil();
    else
      to_msgpack(w, *v, opt);
  } else if constexpr (is_vector<U>::value) {
    w.write_array_header(static_cast<std::uint32_t>(v.size()));
    for (const auto& e : v) to_msgpack(w, e, opt);
  } else if constexpr (is_string_map<U>::value) {
    w.write_map_header(static_cast<std::uint32_t>(v.size()));
    for (const auto& [k, e] : v) {
      to_msgpack(w, k, opt);
      to_msgpack(w, e, opt);
    }
  } else if constexpr (is_tuple<U>::value) {
    w.write_array_header(static_cast<std::uint32_t>(std::tuple_size_v<U>));
    std::apply([&](const auto&... e) { (to_msgpack(w, e, opt), ...); }, v);
  } else if constexpr (is_described_struct<U>) {
    using members = boost::describe::describe_members<U, codec_members>;
    w.write_map_header(static_cast<std::uint32_t>(boost::mp11::mp_size<members>::value));
    boost::mp11::mp_for_each<members>([&](auto d) {
      w.write_str(member_name(d.name, opt.msgpack_naming));
      to_msgpack(w, v.*d.pointer, opt);
    });
  } else {
    static_assert(sizeof(U) == 0,
                  "hubcast: no mapping for this type; describe it with BOOST_DESCRIBE_STRUCT");
  }
}

template <class T>
T from_msgpack(msgpack_view o) {
  using namespace codec_detail;
  using U = std::remove_cvref_t<T>;
  using k = msgpack_view::kind;
  [[maybe_unused]] const k type = o.type();
  if constexpr (std::is_same_v<U, boost::json::value>) {
    return msgpack_to_json(o);
  } else if constexpr (std::is_same_v<U, bool>) {
    if (type != k::boolean) throw binding_error("expected a boolean");
    return o.as_bool();
  } else if constexpr (std::is_integral_v<U> || std::is_enum_v<U>) {
    if (type == k::positive_integer) return from_json<U>(boost::json::value(o.as_uint()));
    if (type == k::negative_integer) return from_json<U>(boost::json::value(o.as_int()));
    if (type == k::float32 || type == k::float64)
      return from_json<U>(boost::json::value(o.as_double()));
    throw binding_error("expected an integer");
  } else if constexpr (std::is_floating_point_v<U>) {
    if (type == k::float32 || type == k::float64) return narrow_float<U>(o.as_double());
    if (type == k::positive_integer) return static_cast<U>(o.as_uint());
    if (type == k::negative_integer) return static_cast<U>(o.as_int());
    throw binding_error("expected a number");
  } else if constexpr (std::is_same_v<U, std::string>) {
    if (type != k::str) throw binding_error("expected a string");
    return std::string(o.as_str());
  } else if constexpr (std::is_same_v<U, bytes>) {
    if (type == k::bin) {
      auto b = o.as_bin();
      return bytes{std::vector<std::uint8_t>(b.begin(), b.end())};
    }
    if (type == k::str) return bytes{base64_decode(o.as_str())};
    throw binding_error("expected binary data");
  } else if constexpr (std::is_same_v<U, date_time>) {
    return unpack_date_time(o);
  } else if constexpr (std::is_same_v<U, decimal>) {
    return unpack_decimal(o);
  } else if constexpr (is_optional<U>::value) {
    if (type == k::nil) return U{};
    return U{from_msgpack<typename U::value_type>(o)};
  } else if constexpr (is_vector<U>::value) {
    if (type != k::array) throw binding_error("expected an array");
    U out;
    const std::uint32_t n = o.size();
    out.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i)
      out.push_back(from_msgpack<typename U::value_type>(o.element(i)));
    return out;
  } else if constexpr (is_string_map<U>::value) {
    if (type != k::map) throw binding_error("expected a map");
    U out;
    const std::uint32_t n = o.size();
    for (std::uint32_t i = 0; i < n; ++i) {
      const msgpack_view key = o.key(i);
      if (key.type() != k::str) throw binding_error("expected string keys");
      out.emplace(std::string(key.as_str()), from_msgpack<typename U::mapped_type>(o.value(i)));
    }
    return out;
  } else if constexpr (is_described_struct<U>) {
    if (type != k::map) throw binding_error("expected a map");
    U out{};
    const std::uint32_t n = o.size();
    using members = boost::describe::describe_members<U, codec_members>;
    boost::mp11::mp_for_each<members>([&](auto d) {
      for (std::uint32_t i = 0; i < n; ++i) {
        const msgpack_view key = o.key(i);
        if (key.type() != k::str) continue;
        auto name = key.as_str();
        if (iequals(name, d.name) ||
            iequals(name, member_name(d.name, naming_policy::camel_case))) {
          out.*d.pointer = from_msgpack<std::remove_cvref_t<decltype(out.*d.pointer)>>(o.value(i));
          return;
        }
      }
    });
    return out;
  } else {
    static_assert(sizeof(U) == 0,
                  "hubcast: no mapping for this type; describe it with BOOST_DESCRIBE_STRUCT");
  }
}

// Binds a parsed protocol value, whichever protocol produced it.
template <class T>
T from_raw(const protocol::raw_value& v) {
  if (v.is_msgpack()) return from_msgpack<T>(v.as_msgpack());
  return from_json<T>(v.json());
}

// A protocol value as a JSON tree (for code that wants to inspect it generically).
inline boost::json::value to_json_value(const protocol::raw_value& v) {
  if (v.is_msgpack()) return codec_detail::msgpack_to_json(v.as_msgpack());
  return v.json();
}

}  // namespace hubcast

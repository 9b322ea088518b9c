#include <hubcast/protocol/value_codec.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include <boost/json/serialize.hpp>

namespace hubcast::codec_detail {

namespace {
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Days since 1970-01-01 for a civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{static_cast<int>(y)} / month{m} / day{d}}.time_since_epoch().count();
}
}  // namespace

std::string base64_encode(const std::vector<std::uint8_t>& data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    std::uint32_t n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
    out += b64_alphabet[n & 63];
  }
  if (i + 1 == data.size()) {
    std::uint32_t n = data[i] << 16;
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    std::uint32_t n = (data[i] << 16) | (data[i + 1] << 8);
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Strict RFC 4648 base64, as .NET's Convert.FromBase64String / Utf8JsonReader.GetBytesFromBase64:
// the standard alphabet, a length that is a multiple of 4, at most two '=' and only at the end.
// "AQ=" and "====" are refused rather than silently decoded to something else.
std::vector<std::uint8_t> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw binding_error("invalid base64 length");
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  std::string_view body = text.substr(0, text.size() - padding);
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int v = b64_index(c);
    if (v < 0 || c == '-' || c == '_') throw binding_error("invalid base64");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  // A full quantum of padding ("====", "A===") leaves 6 bits or none at all: not base64.
  if (bits >= 6 || (padding > 0 && bits == 0)) throw binding_error("invalid base64");
  return out;
}

std::string format_date_time(date_time t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  hh_mm_ss<microseconds> tod{t - days};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()),
                        unsigned(ymd.month()), unsigned(ymd.day()), int(tod.hours().count()),
                        int(tod.minutes().count()), int(tod.seconds().count()));
  std::string out(buf, static_cast<std::size_t>(n));
  auto us = tod.subseconds().count();
  if (us != 0) {
    // .NET writes up to 7 fractional digits and trims trailing zeros.
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(us));
    std::string frac(buf);
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  out += 'Z';
  return out;
}

date_time parse_date_time(std::string_view s) {
  // yyyy-mm-ddThh:mm:ss[.fffffff][Z|+hh:mm|-hh:mm]
  auto digits = [&](std::size_t pos, std::size_t n) -> int {
    if (pos + n > s.size()) throw binding_error("invalid date-time");
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) throw binding_error("invalid date-time");
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    throw binding_error("invalid date-time");
  int y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  int h = digits(11, 2), mi = digits(14, 2), se = digits(17, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
    throw binding_error("invalid date-time");
  // The day must exist in that month (no 2023-02-30), as System.Text.Json checks.
  if (!std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{unsigned(mo)},
                                   std::chrono::day{unsigned(d)}}
           .ok())
    throw binding_error("invalid date-time");
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (n < 6) micros = micros * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) throw binding_error("invalid date-time");
    for (int i = n; i < 6; ++i) micros *= 10;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
    } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
      offset_min = digits(pos + 1, 2) * 60 + digits(pos + 4, 2);
      if (s[pos] == '-') offset_min = -offset_min;
    } else {
      throw binding_error("invalid date-time");
    }
  }
  if (offset_min > 14 * 60 || offset_min < -14 * 60) throw binding_error("invalid date-time");
  std::int64_t secs = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 +
                      se - offset_min * 60;
  if (secs < min_date_time_seconds || secs > max_date_time_seconds)
    throw binding_error("date-time outside the DateTime range");
  return date_time{std::chrono::microseconds{secs * 1000000 + micros}};
}

std::string member_name(std::string_view declared, naming_policy policy) {
  if (policy == naming_policy::as_declared) return std::string(declared);
  if (policy == naming_policy::pascal_case) {
    auto out = member_name(declared, naming_policy::camel_case);
    if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out;
  }
  std::string out;
  out.reserve(declared.size());
  bool upper_next = false;
  for (char c : declared) {
    if (c == '_') {
      upper_next = !out.empty();
      continue;
    }
    if (upper_next) {
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      upper_next = false;
    } else {
      out += c;
    }
  }
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

namespace {
void put_be(char* out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
}
std::uint64_t get_be(const char* in, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
}  // namespace

// The MessagePack timestamp extension (type -1): 32-, 64- or 96-bit form, smallest that fits.
void pack_date_time(msgpack_writer& w, date_time t) {
  auto us = t.time_since_epoch().count();
  std::int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  std::uint32_t nsec = static_cast<std::uint32_t>((us - sec * 1000000) * 1000);
  char buf[12];
  if (sec >= 0 && (static_cast<std::uint64_t>(sec) >> 34) == 0) {
    std::uint64_t v = (static_cast<std::uint64_t>(nsec) << 34) | static_cast<std::uint64_t>(sec);
    if ((v & 0xffffffff00000000ULL) == 0) {
      put_be(buf, v, 4);
      w.write_ext(-1, std::string_view(buf, 4));
    } else {
      put_be(buf, v, 8);
      w.write_ext(-1, std::string_view(buf, 8));
    }
  } else {
    put_be(buf, nsec, 4);
    put_be(buf + 4, static_cast<std::uint64_t>(sec), 8);
    w.write_ext(-1, std::string_view(buf, 12));
  }
}

date_time unpack_date_time(msgpack_view o) {
  using k = msgpack_view::kind;
  if (o.type() == k::str) return parse_date_time(o.as_str());
  if (o.type() != k::ext || o.ext_type() != -1) throw binding_error("expected a timestamp");
  const std::string_view data = o.ext_data();
  const char* d = data.data();
  std::int64_t sec = 0;
  std::uint32_t nsec = 0;
  switch (data.size()) {
    case 4:
      sec = static_cast<std::int64_t>(get_be(d, 4));
      break;
    case 8: {
      auto v = get_be(d, 8);
      nsec = static_cast<std::uint32_t>(v >> 34);
      sec = static_cast<std::int64_t>(v & 0x3ffffffffULL);
      break;
    }
    case 12:
      nsec = static_cast<std::uint32_t>(get_be(d, 4));
      sec = static_cast<std::int64_t>(get_be(d + 4, 8));
      break;
    default:
      throw binding_error("invalid timestamp");
  }
  if (nsec >= 1000000000u) throw binding_error("invalid timestamp");
  // .NET's DateTime holds 0001-01-01T00:00:00 .. 9999-12-31T23:59:59.9999999: MessagePack for
  // C# refuses a timestamp outside it, and so do we (also keeps sec * 10^6 from overflowing).
  if (sec < min_date_time_seconds || sec > max_date_time_seconds)
    throw binding_error("timestamp outside the DateTime range");
  return date_time{std::chrono::microseconds{sec * 1000000 + nsec / 1000}};
}

decimal unpack_decimal(msgpack_view o) {
  using k = msgpack_view::kind;
  switch (o.type()) {
    case k::str:
      return decimal::parse(o.as_str());
    case k::positive_integer:
      if (o.as_uint() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        throw binding_error("decimal out of range");
      return decimal{static_cast<std::int64_t>(o.as_uint()), 0};
    case k::negative_integer:
      return decimal{o.as_int(), 0};
    case k::float32:
    case k::float64:
      return decimal_from_json_double(o.as_double());
    default:
      throw binding_error("expected a decimal (string or number)");
  }
}

decimal decimal_from_json_double(double v) {
  if (!std::isfinite(v)) throw binding_error("decimal out of range");
  // The fewest digits after the point (up to 15 significant) that give back the same double.
  for (int scale = 0; scale <= 15; ++scale) {
    decimal d = decimal::from_double(v, scale);
    if (d.to_double() == v) return d;
  }
  return decimal::from_double(v, 15);
}

void pack_json(msgpack_writer& w, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      w.write_nil();
      break;
    case boost::json::kind::bool_:
      w.write_bool(v.get_bool());
      break;
    case boost::json::kind::int64:
      w.write_int(v.get_int64());
      break;
    case boost::json::kind::uint64:
      w.write_uint(v.get_uint64());
      break;
    case boost::json::kind::double_:
      w.write_double(v.get_double());
      break;
    case boost::json::kind::string:
      w.write_str(v.get_string());
      break;
    case boost::json::kind::array:
      w.write_array_header(static_cast<std::uint32_t>(v.get_array().size()));
      for (const auto& e : v.get_array()) pack_json(w, e);
      break;
    case boost::json::kind::object:
      w.write_map_header(static_cast<std::uint32_t>(v.get_object().size()));
      for (const auto& kv : v.get_object()) {
        w.write_str(kv.key());
        pack_json(w, kv.value());
      }
      break;
  }
}

boost::json::value msgpack_to_json(msgpack_view o) {
  using k = msgpack_view::kind;
  switch (o.type()) {
    case k::nil:
      return nullptr;
    case k::boolean:
      return o.as_bool();
    case k::positive_integer:
      return o.as_uint();
    case k::negative_integer:
      return o.as_int();
    case k::float32:
    case k::float64:
      return o.as_double();
    case k::str:
      return boost::json::string(o.as_str());
    case k::bin: {
      auto b = o.as_bin();
      return boost::json::string(base64_encode(std::vector<std::uint8_t>(b.begin(), b.end())));
    }
    case k::array: {
      boost::json::array a;
      const std::uint32_t n = o.size();
      a.reserve(n);
      for (std::uint32_t i = 0; i < n; ++i) a.push_back(msgpack_to_json(o.element(i)));
      return a;
    }
    case k::map: {
      boost::json::object m;
      const std::uint32_t n = o.size();
      for (std::uint32_t i = 0; i < n; ++i) {
        const msgpack_view key = o.key(i);
        std::string name = key.type() == k::str ? std::string(key.as_str())
                                                : boost::json::serialize(msgpack_to_json(key));
        m[name] = msgpack_to_json(o.value(i));
      }
      return m;
    }
    case k::ext:
      if (o.ext_type() == -1) return boost::json::string(format_date_time(unpack_date_time(o)));
      return nullptr;
  }
  return nullptr;
}

}  // namespace hubcast::codec_detail

namespace hubcast {

namespace {
constexpr std::int64_t pow10(int n) {
  std::int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}
}  // namespace

decimal decimal::from_double(double v, int scale) {
  if (scale < 0 || scale > 18) throw binding_error("decimal scale out of range");
  double scaled = std::round(v * static_cast<double>(pow10(scale)));
  if (!std::isfinite(scaled) || std::fabs(scaled) >= 9.2e18)
    throw binding_error("decimal out of range");
  return decimal{static_cast<std::int64_t>(scaled), static_cast<std::uint8_t>(scale)};
}

decimal decimal::parse(std::string_view text) {
  auto fail = [&]() -> decimal { throw binding_error("expected a decimal number"); };
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  unsigned __int128 units = 0;
  int scale = 0, digits = 0;
  bool point = false, saw_digit = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && !point) {
      point = true;
    } else if (c >= '0' && c <= '9') {
      saw_digit = true;
      if (units == 0 && c == '0' && !point) continue;  // leading zeros
      if (++digits > 18) return fail();
      units = units * 10 + static_cast<unsigned>(c - '0');
      if (point) ++scale;
    } else {
      break;
    }
  }
  if (!saw_digit) return fail();
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return fail();
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) exp_negative = text[i++] == '-';
    if (i == text.size()) return fail();
    int exponent = 0;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9' || exponent > 100) return fail();
      exponent = exponent * 10 + (text[i] - '0');
    }
    if (exp_negative) {
      scale += exponent;
    } else {
      for (; exponent > 0; --exponent) {
        if (scale > 0)
          --scale;
        else
          units *= 10;
      }
    }
    while (scale > 18 && units % 10 == 0 && units != 0) units /= 10, --scale;
    if (scale > 18) return fail();
  }
  if (units > static_cast<unsigned __int128>(std::numeric_limits<std::int64_t>::max()))
    return fail();
  auto u = static_cast<std::int64_t>(units);
  return decimal{negative ? -u : u, static_cast<std::uint8_t>(scale)};
}

double decimal::to_double() const {
  return static_cast<double>(units) / static_cast<double>(pow10(scale));
}

std::string decimal::to_string() const {
  std::uint64_t magnitude = units < 0 ? std::uint64_t(0) - static_cast<std::uint64_t>(units)
                                      : static_cast<std::uint64_t>(units);
  std::string digits = std::to_string(magnitude);
  if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
  if (scale > 0) digits.insert(digits.size() - scale, 1, '.');
  if (units < 0) digits.insert(0, 1, '-');
  return digits;
}

int decimal::compare(const decimal& other) const {
  // Compare at the larger scale in 128 bits (scales are at most 18, so nothing overflows).
  int common = scale > other.scale ? scale : other.scale;
  __int128 a = static_cast<__int128>(units) * pow10(common - scale);
  __int128 b = static_cast<__int128>(other.units) * pow10(common - other.scale);
  return a < b ? -1 : (a > b ? 1 : 0);
}

}  // namespace hubcast

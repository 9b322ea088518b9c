#include "config.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json/error.hpp>
#include <boost/json/stream_parser.hpp>

namespace stockhub {

namespace {
// TimeSpan.MaxValue, about 29,227 years: past it a duration is a typo, not a setting.
constexpr double max_duration_seconds = 922337203685.0;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void flatten(const boost::json::value& v, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  switch (v.kind()) {
    case boost::json::kind::object:
      for (const auto& kv : v.get_object())
        flatten(kv.value(),
                prefix.empty() ? std::string(kv.key()) : prefix + ":" + std::string(kv.key()), out);
      break;
    case boost::json::kind::array: {
      std::size_t i = 0;
      for (const auto& e : v.get_array()) flatten(e, prefix + ":" + std::to_string(i++), out);
      break;
    }
    case boost::json::kind::string:
      out.emplace_back(prefix, std::string(v.get_string()));
      break;
    case boost::json::kind::bool_:
      out.emplace_back(prefix, v.get_bool() ? "true" : "false");
      break;
    case boost::json::kind::int64:
      out.emplace_back(prefix, std::to_string(v.get_int64()));
      break;
    case boost::json::kind::uint64:
      out.emplace_back(prefix, std::to_string(v.get_uint64()));
      break;
    case boost::json::kind::double_: {
      std::ostringstream s;
      s << v.get_double();
      out.emplace_back(prefix, s.str());
      break;
    }
    case boost::json::kind::null:
      out.emplace_back(prefix, "");
      break;
  }
}
}  // namespace

void configuration::load_json_file(const std::string& path, bool required) {
  std::ifstream in(path);
  if (!in) {
    if (required) throw configuration_error(path + ": the configuration file cannot be read");
    return;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  load_json_text(buf.str(), path);
}

void configuration::load_json_text(std::string_view text, const std::string& origin) {
  boost::json::parse_options options;
  options.max_depth = 64;
  options.allow_comments = true;  // appsettings.json files often carry them (.NET reads them)
  options.allow_trailing_commas = true;
  boost::json::stream_parser p({}, options);
  boost::system::error_code ec;
  std::size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  if (!ec) p.finish(ec);
  if (ec) {
    // Where it went wrong, as line:column (1-based) of the first byte not accepted.
    std::size_t at = std::min(used, text.size()), line = 1, column = 1;
    for (std::size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++column;
      }
    }
    throw configuration_error(origin + ":" + std::to_string(line) + ":" + std::to_string(column) +
                              ": malformed JSON (" + ec.message() + ")");
  }
  auto v = p.release();
  if (!v.is_object())
    throw configuration_error(origin + ": the configuration must be a JSON object ({ ... })");
  std::vector<std::pair<std::string, std::string>> flat;
  flatten(v, "", flat);
  for (auto& [k, value] : flat) store(k, std::move(value));
}

void configuration::store(const std::string& key, std::string value) {
  auto l = lower(key);
  spelling_.emplace(l, key);
  values_[l] = std::move(value);
}

std::vector<std::string> configuration::keys() const {
  std::vector<std::string> out;
  for (const auto& [l, spelled] : spelling_)
    if (values_.count(l)) out.push_back(spelled);
  return out;
}

void configuration::load_environment(const std::string& prefix, char** envp) {
  for (char** e = envp; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos || entry.compare(0, prefix.size(), prefix) != 0) continue;
    std::string key = entry.substr(prefix.size(), eq - prefix.size());
    for (std::size_t p; (p = key.find("__")) != std::string::npos;) key.replace(p, 2, ":");
    store(key, entry.substr(eq + 1));
  }
}

void configuration::set(const std::string& key, std::string value) {
  store(key, std::move(value));
}

std::optional<std::string> configuration::get(const std::string& key) const {
  auto it = values_.find(lower(key));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string configuration::get_or(const std::string& key, const std::string& fallback) const {
  return get(key).value_or(fallback);
}

long configuration::number(const std::string& key, long fallback, long min, long max) const {
  auto v = get(key);
  if (!v || v->empty()) return fallback;
  long n = 0;
  std::size_t used = 0;
  try {
    n = std::stol(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size())
    throw configuration_error(key + ": '" + *v + "' is not a whole number");
  if (n < min || n > max) {
    std::string range = min == LONG_MIN   ? "at most " + std::to_string(max)
                        : max == LONG_MAX ? "at least " + std::to_string(min)
                                          : std::to_string(min) + " to " + std::to_string(max);
    throw configuration_error(key + ": " + *v + " is out of range (" + range + ")");
  }
  return n;
}

bool configuration::flag(const std::string& key, bool fallback) const {
  auto v = get(key);
  if (!v || v->empty()) return fallback;
  auto l = lower(*v);
  if (l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  throw configuration_error(key + ": '" + *v + "' is not a boolean (expected true or false)");
}

std::chrono::milliseconds configuration::duration(const std::string& key,
                                                  std::chrono::milliseconds fallback,
                                                  std::chrono::milliseconds min,
                                                  std::chrono::milliseconds max) const {
  auto v = get(key);
  if (!v || v->empty()) return fallback;
  std::chrono::milliseconds d;
  try {
    d = parse_duration(*v);
  } catch (const std::exception&) {
    throw configuration_error(key + ": '" + *v +
                              "' is not a duration (expected \"hh:mm:ss[.fff]\" or seconds)");
  }
  if (d < min)
    throw configuration_error(key + ": '" + *v + "' is too short (at least " +
                              format_duration(min) + ")");
  if (d > max)
    throw configuration_error(key + ": '" + *v + "' is too long (at most " + format_duration(max) +
                              ")");
  return d;
}

std::vector<std::string> configuration::list(const std::string& key) const {
  std::vector<std::string> out;
  for (std::size_t i = 0;; ++i) {
    auto v = get(key + ":" + std::to_string(i));
    if (!v) break;
    out.push_back(*v);
  }
  if (out.empty()) {
    if (auto v = get(key)) {
      std::stringstream s(*v);
      std::string item;
      while (std::getline(s, item, ','))
        if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> configuration::section(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, std::string>> out;
  auto p = lower(prefix) + ":";
  for (auto it = values_.lower_bound(p); it != values_.end() && it->first.rfind(p, 0) == 0; ++it)
    out.emplace_back(it->first.substr(p.size()), it->second);
  return out;
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  long long days = ms / 86400000, rest = ms % 86400000;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", rest / 3600000, rest / 60000 % 60,
                rest / 1000 % 60);
  std::string out = (days ? std::to_string(days) + "." : std::string()) + buf;
  if (rest % 1000) {
    std::snprintf(buf, sizeof buf, ".%03lld", rest % 1000);
    out += buf;
  }
  return out;
}

std::chrono::milliseconds parse_duration(const std::string& t) {
  using namespace std::chrono;
  if (t.find(':') == std::string::npos) {
    std::size_t used = 0;
    double secs = std::stod(t, &used);
    if (used != t.size() || !(secs >= 0) || secs > max_duration_seconds)
      throw std::invalid_argument("duration");
    return milliseconds(static_cast<long long>(secs * 1000 + 0.5));
  }
  // [d.]hh:mm:ss[.fffffff]
  long days = 0;
  std::string rest = t;
  auto first_colon = rest.find(':');
  auto dot = rest.find('.');
  if (dot != std::string::npos && dot < first_colon) {
    days = std::stol(rest.substr(0, dot));
    rest = rest.substr(dot + 1);
  }
  int h = 0, m = 0;
  double s = 0;
  char c1 = 0, c2 = 0;
  std::istringstream in(rest);
  if (!(in >> h >> c1 >> m >> c2 >> s) || c1 != ':' || c2 != ':' || h < 0 || m < 0 || m > 59 ||
      s < 0 || s >= 60)
    throw std::invalid_argument("duration");
  std::string tail;
  if (in >> tail) throw std::invalid_argument("duration");
  double total = ((double(days) * 24 + h) * 60 + m) * 60 + s;
  if (days < 0 || total > max_duration_seconds) throw std::invalid_argument("duration");
  return milliseconds(static_cast<long long>(total * 1000 + 0.5));
}

}  // namespace stockhub

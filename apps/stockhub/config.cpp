#include "config.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json/parse.hpp>

namespace stockhub {

namespace {
// TimeSpan.MaxValue, about 29,227 years: past it a duration is a typo, not a setting.
constexpr double max_duration_seconds = 922337203685.0;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void flatten(const boost::json::value& v, const std::string& prefix,
             std::map<std::string, std::string>& out) {
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
      out[lower(prefix)] = std::string(v.get_string());
      break;
    case boost::json::kind::bool_:
      out[lower(prefix)] = v.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::int64:
      out[lower(prefix)] = std::to_string(v.get_int64());
      break;
    case boost::json::kind::uint64:
      out[lower(prefix)] = std::to_string(v.get_uint64());
      break;
    case boost::json::kind::double_: {
      std::ostringstream s;
      s << v.get_double();
      out[lower(prefix)] = s.str();
      break;
    }
    case boost::json::kind::null:
      out[lower(prefix)] = "";
      break;
  }
}
}  // namespace

void configuration::load_json_file(const std::string& path, bool required) {
  std::ifstream in(path);
  if (!in) {
    if (required) throw std::runtime_error("configuration file not found: " + path);
    return;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  load_json_text(buf.str(), path);
}

void configuration::load_json_text(std::string_view text, const std::string& origin) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  options.allow_comments = true;  // appsettings.json files often carry them (.NET reads them)
  options.allow_trailing_commas = true;
  auto v = boost::json::parse(text, ec, {}, options);
  if (ec || !v.is_object()) throw std::runtime_error("malformed JSON in " + origin);
  flatten(v, "", values_);
}

void configuration::load_environment(const std::string& prefix, char** envp) {
  for (char** e = envp; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos || entry.compare(0, prefix.size(), prefix) != 0) continue;
    std::string key = entry.substr(prefix.size(), eq - prefix.size());
    for (std::size_t p; (p = key.find("__")) != std::string::npos;) key.replace(p, 2, ":");
    values_[lower(key)] = entry.substr(eq + 1);
  }
}

void configuration::set(const std::string& key, std::string value) {
  values_[lower(key)] = std::move(value);
}

std::optional<std::string> configuration::get(const std::string& key) const {
  auto it = values_.find(lower(key));
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string configuration::get_or(const std::string& key, const std::string& fallback) const {
  return get(key).value_or(fallback);
}

long configuration::number(const std::string& key, long fallback) const {
  auto v = get(key);
  if (!v || v->empty()) return fallback;
  try {
    return std::stol(*v);
  } catch (const std::exception&) {
    throw std::runtime_error("configuration " + key + ": '" + *v + "' is not a number");
  }
}

bool configuration::flag(const std::string& key, bool fallback) const {
  auto v = get(key);
  if (!v || v->empty()) return fallback;
  auto l = lower(*v);
  if (l == "true" || l == "1" || l == "yes") return true;
  if (l == "false" || l == "0" || l == "no") return false;
  throw std::runtime_error("configuration " + key + ": '" + *v + "' is not a boolean");
}

std::chrono::milliseconds configuration::duration(const std::string& key,
                                                  std::chrono::milliseconds fallback) const {
  auto v = get(key);
  if (!v || v->empty()) return fallback;
  try {
    return parse_duration(*v);
  } catch (const std::exception&) {
    throw std::runtime_error("configuration " + key + ": '" + *v + "' is not a duration");
  }
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

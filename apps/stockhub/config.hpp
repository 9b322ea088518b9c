// Layered configuration like ASP.NET Core's: appsettings.json, appsettings.<Environment>.json,
// environment variables STOCKHUB_<Section>__<Key>, then --Section:Key=value. Keys are
// case-insensitive "Section:Key" paths; arrays flatten to "Section:Key:0", "Section:Key:1", ...
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stockhub {

class configuration {
 public:
  // Throws std::runtime_error for malformed JSON, or a missing file when `required`.
  void load_json_file(const std::string& path, bool required);
  // The same from text; `origin` names it in errors.
  void load_json_text(std::string_view text, const std::string& origin);
  void load_environment(const std::string& prefix, char** envp);
  void set(const std::string& key, std::string value);

  std::optional<std::string> get(const std::string& key) const;
  std::string get_or(const std::string& key, const std::string& fallback) const;
  long number(const std::string& key, long fallback) const;
  bool flag(const std::string& key, bool fallback) const;
  // TimeSpan strings ("00:15:00", "1.02:03:04", "00:00:00.100") or seconds ("900", "0.5").
  std::chrono::milliseconds duration(const std::string& key,
                                     std::chrono::milliseconds fallback) const;
  // "Key:0", "Key:1", ... or a comma-separated value.
  std::vector<std::string> list(const std::string& key) const;
  // Every key under `prefix:` with its value (keys lower-cased, prefix removed).
  std::vector<std::pair<std::string, std::string>> section(const std::string& prefix) const;

 private:
  std::map<std::string, std::string> values_;  // lower-cased keys
};

// Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(const std::string& text);

}  // namespace stockhub

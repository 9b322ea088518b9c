// Layered configuration like ASP.NET Core's: appsettings.json, appsettings.<Environment>.json,
// environment variables STOCKHUB_<Section>__<Key>, then --Section:Key=value. Keys are
// case-insensitive "Section:Key" paths; arrays flatten to "Section:Key:0", "Section:Key:1", ...
#pragma once

#include <chrono>
#include <climits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stockhub {

// A wrong configuration value or file. what() is the whole message after "configuration
// error: ", naming the key as the code spells it, e.g.
//   Stocks:TickInterval: 'abc' is not a duration (expected "hh:mm:ss[.fff]" or seconds)
//   appsettings.json:4:17: malformed JSON (expected a value)
class configuration_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class configuration {
 public:
  // Throws configuration_error for malformed JSON (with the line and column), or a missing file
  // when `required`. Comments and trailing commas are accepted, as .NET reads appsettings.json.
  void load_json_file(const std::string& path, bool required);
  // The same from text; `origin` names it in errors.
  void load_json_text(std::string_view text, const std::string& origin);
  void load_environment(const std::string& prefix, char** envp);
  void set(const std::string& key, std::string value);

  std::optional<std::string> get(const std::string& key) const;
  std::string get_or(const std::string& key, const std::string& fallback) const;
  // Whole numbers within [min, max]; throws configuration_error.
  long number(const std::string& key, long fallback, long min = LONG_MIN,
              long max = LONG_MAX) const;
  bool flag(const std::string& key, bool fallback) const;
  // TimeSpan strings ("00:15:00", "1.02:03:04", "00:00:00.100") or seconds ("900", "0.5"),
  // within [min, max]; throws configuration_error.
  std::chrono::milliseconds duration(
      const std::string& key, std::chrono::milliseconds fallback,
      std::chrono::milliseconds min = std::chrono::milliseconds(0),
      std::chrono::milliseconds max = std::chrono::milliseconds::max()) const;
  // "Key:0", "Key:1", ... or a comma-separated value.
  std::vector<std::string> list(const std::string& key) const;
  // Every key under `prefix:` with its value (keys lower-cased, prefix removed).
  std::vector<std::pair<std::string, std::string>> section(const std::string& prefix) const;
  // Every key as first spelled where it was set (e.g. "Stocks:TickIntervall"), in order.
  std::vector<std::string> keys() const;

 private:
  void store(const std::string& key, std::string value);
  std::map<std::string, std::string> values_;    // lower-cased keys
  std::map<std::string, std::string> spelling_;  // lower-cased key -> as first written
};

// Throws std::invalid_argument.
std::chrono::milliseconds parse_duration(const std::string& text);
// "hh:mm:ss[.fff]" (with "d." in front past a day), as .NET writes a TimeSpan.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace stockhub

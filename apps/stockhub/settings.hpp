// Every configuration key stockhub reads, with its default and meaning: printed by --help, and
// the reference for warnings about unknown keys in a known section (a typo such as
// "Stocks:TickIntervall" is reported with the closest known key instead of being ignored).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace stockhub {

struct setting {
  enum class kind { text, number, duration, flag };
  std::string_view key;  // "Section:Key"; "Section:Key:*" for free-form children (lists, maps)
  std::string_view fallback;
  std::string_view description;
  kind type = kind::text;
  long long min = 0, max = 0;  // number: the value; duration: milliseconds (0 max: none)
};

const std::vector<setting>& known_settings();

// Typed reads with the table's default and range; throw configuration_error.
long setting_number(const configuration& cfg, std::string_view key);
std::chrono::milliseconds setting_duration(const configuration& cfg, std::string_view key);
bool setting_flag(const configuration& cfg, std::string_view key);
// Reads every typed key once, so that a wrong value stops the start before anything happens.
void validate_settings(const configuration& cfg);

// One warning per key of `cfg` that is in a known section but is not a known key, e.g.
//   unknown configuration key 'Stocks:TickIntervall' (did you mean 'Stocks:TickInterval'?)
// Keys of other sections ("AllowedHosts", "Kestrel", ...) are left alone, as .NET does.
std::vector<std::string> unknown_key_warnings(const configuration& cfg);

// The --help text of `stockhub` (commands, options, every key).
std::string help_text(std::string_view version);

}  // namespace stockhub

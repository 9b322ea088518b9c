// Log categories (like ASP.NET Core's logger categories): named spdlog loggers sharing the
// default logger's sinks, each with its own level. `hubcast.http` carries the request lines.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace hubcast::log {

// The logger of a category, made on first use with the default logger's sinks and level.
std::shared_ptr<spdlog::logger> category(const std::string& name);
void set_level(const std::string& name, spdlog::level::level_enum level);

// ASP.NET Core level names (Trace, Debug, Information, Warning, Error, Critical, None) or
// spdlog's; throws std::invalid_argument.
spdlog::level::level_enum parse_level(std::string text);

// For messages an attacker can trigger at will (a flood of refused requests, EMFILE): ready()
// answers at most once per `interval`, from any thread, with how many calls it turned down
// since its last answer; nullopt otherwise.
class rate_limit {
 public:
  explicit rate_limit(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_ms_(interval.count()) {}
  std::optional<std::uint64_t> ready();

 private:
  std::int64_t interval_ms_;
  std::atomic<std::int64_t> last_ms_{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::uint64_t> suppressed_{0};
};

// Makes every line the default logger's sinks write a single line: CR, LF, ESC and the other
// control characters in a message are written as \xHH (a hub argument like
// "X\n[info] forged" cannot forge a log line). Called by hubcast::app; idempotent.
void use_single_line_messages(const std::string& pattern = "%+");

// A value from the network, fit for one log line: control characters (CR, LF, ESC, ...) and
// non-ASCII bytes escaped as \xHH, backslashes doubled, cut at `max` bytes with "...".
std::string escape(std::string_view value, std::size_t max = 256);

}  // namespace hubcast::log

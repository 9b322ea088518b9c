// Log categories (like ASP.NET Core's logger categories): named spdlog loggers sharing the
// default logger's sinks, each with its own level. `hubcast.http` carries the request lines.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace hubcast::log {

// The logger of a category, made on first use with the default logger's sinks and level.
std::shared_ptr<spdlog::logger> category(const std::string& name);
void set_level(const std::string& name, spdlog::level::level_enum level);

// ASP.NET Core level names (Trace, Debug, Information, Warning, Error, Critical, None) or
// spdlog's; throws std::invalid_argument.
spdlog::level::level_enum parse_level(std::string text);

}  // namespace hubcast::log

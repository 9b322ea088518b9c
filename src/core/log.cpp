#include "core/log.hpp"

#include <cctype>
#include <mutex>
#include <stdexcept>

namespace hubcast::log {

namespace {
std::mutex mutex;
}

std::shared_ptr<spdlog::logger> category(const std::string& name) {
  std::lock_guard lock(mutex);
  if (auto l = spdlog::get(name)) return l;
  auto def = spdlog::default_logger();
  auto l = std::make_shared<spdlog::logger>(name, def->sinks().begin(), def->sinks().end());
  l->set_level(def->level());
  spdlog::register_logger(l);
  return l;
}

void set_level(const std::string& name, spdlog::level::level_enum level) {
  category(name)->set_level(level);
}

spdlog::level::level_enum parse_level(std::string t) {
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "trace") return spdlog::level::trace;
  if (t == "debug") return spdlog::level::debug;
  if (t == "information" || t == "info") return spdlog::level::info;
  if (t == "warning" || t == "warn") return spdlog::level::warn;
  if (t == "error" || t == "err") return spdlog::level::err;
  if (t == "critical") return spdlog::level::critical;
  if (t == "none" || t == "off") return spdlog::level::off;
  throw std::invalid_argument("unknown log level '" + t + "'");
}

}  // namespace hubcast::log

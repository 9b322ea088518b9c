#include <hubcast/core/log.hpp>

#include <cctype>
#include <mutex>
#include <stdexcept>

#include <spdlog/pattern_formatter.h>

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

namespace {

// Appends `v` with control characters (and, with `non_ascii`, bytes past 0x7e and backslashes)
// written as \xHH, stopping with "..." once `max` bytes are written.
void append_escaped(std::string& out, std::string_view v, bool non_ascii, std::size_t max) {
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char c : v) {
    if (out.size() >= max) {
      out += "...";
      return;
    }
    if (non_ascii && c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f || (non_ascii && c > 0x7f)) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
}

// The pattern formatter, fed a copy of each message with its control characters escaped.
class single_line_formatter final : public spdlog::formatter {
 public:
  explicit single_line_formatter(std::string pattern)
      : pattern_(std::move(pattern)),
        inner_(std::make_unique<spdlog::pattern_formatter>(pattern_)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    bool clean = true;
    for (unsigned char c : payload) clean = clean && c >= 0x20 && c != 0x7f;
    if (clean) {
      inner_->format(msg, dest);
      return;
    }
    std::string escaped;
    escaped.reserve(payload.size() + 16);
    append_escaped(escaped, payload, false, std::string::npos);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<single_line_formatter>(pattern_);
  }

 private:
  std::string pattern_;
  std::unique_ptr<spdlog::pattern_formatter> inner_;
};

}  // namespace

void use_single_line_messages(const std::string& pattern) {
  spdlog::set_formatter(std::make_unique<single_line_formatter>(pattern));
}

std::optional<std::uint64_t> rate_limit::ready() {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
  auto last = last_ms_.load();
  if ((last != std::numeric_limits<std::int64_t>::min() && now - last < interval_ms_) ||
      !last_ms_.compare_exchange_strong(last, now)) {
    suppressed_.fetch_add(1);
    return std::nullopt;
  }
  return suppressed_.exchange(0);
}

std::string escape(std::string_view value, std::size_t max) {
  std::string out;
  out.reserve(std::min(value.size(), max) + 8);
  append_escaped(out, value, true, max);
  return out;
}

}  // namespace hubcast::log

#include "settings.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace stockhub {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Edit distance (insertions, deletions, substitutions), case-insensitive.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view section_of(std::string_view key) {
  return key.substr(0, key.find(':'));
}
}  // namespace

const std::vector<setting>& known_settings() {
  using k = setting::kind;
  constexpr long long day = 86400000, mib = 1024 * 1024;
  static const std::vector<setting> all = {
      {"Urls", "http://127.0.0.1:5000", "where to listen, ';'-separated (https:// with Https:*)"},
      {"Server:Threads", "0", "I/O threads (shards); 0: one per core", k::number, 0, 256},
      {"Server:KnownProxies:*", "",
       "reverse proxies (IP addresses, a list) whose X-Forwarded-For names the client"},
      {"Server:ShutdownTimeout", "00:00:30",
       "on SIGTERM/SIGINT: how long to wait for invocations and connections to finish", k::duration,
       0, day},
      {"Https:CertificatePath", "", "PEM certificate chain for https:// URLs"},
      {"Https:KeyPath", "", "PEM private key for https:// URLs"},
      {"Auth:Key", "", "HS256 signing key, 32 bytes or more (required in Production)"},
      {"Auth:Issuer", "stockhub", "JWT issuer (iss), issued and required"},
      {"Auth:Audience", "stockhub-clients", "JWT audience (aud), issued and required"},
      {"Auth:AccessTokenLifetime", "00:05:00", "lifetime of an access token", k::duration, 1000,
       365 * day},
      {"Auth:RefreshTokenLifetime", "7.00:00:00", "lifetime of a refresh token", k::duration, 1000,
       3650 * day},
      {"Auth:ClockSkew", "00:00:30", "tolerance on exp/nbf", k::duration, 0, 3600000},
      {"Database:Path", "stockhub.db", "SQLite user store (stockhub-dev.db in Development)"},
      {"Cors:AllowedOrigins:*", "", "origins allowed to call the API and the hub (a list)"},
      {"SignalR:MaximumReceiveMessageSize", "32768", "largest hub message accepted, in bytes",
       k::number, 1, 64 * mib},
      {"SignalR:KeepAliveInterval", "00:00:15", "ping interval", k::duration, 100, day},
      {"SignalR:ClientTimeoutInterval", "00:00:30", "close a client silent this long", k::duration,
       100, day},
      {"SignalR:CloseOnAuthenticationExpiration", "true", "close when the access token expires",
       k::flag},
      {"SignalR:EnableAuthenticationRefresh", "true",
       "a connection takes a new token without reconnecting (POST /hubs/stocks/refresh)", k::flag},
      {"SignalR:EnableDetailedErrors", "false", "send exception texts to clients", k::flag},
      {"SignalR:MaxPendingConnections", "10000", "cap on negotiated, not yet connected (0: none)",
       k::number, 0, 1000000},
      {"SignalR:MessagePackKeys", "PascalCase", "MessagePack member names: PascalCase|camelCase"},
      {"Stocks:Symbols:*", "MSFT,AAPL,GOOGL,AMZN,NVDA,TSLA", "the market's symbols (a list)"},
      {"Stocks:TickInterval", "00:00:00.500", "time between ticks", k::duration, 1, day},
      {"Redis:Configuration", "",
       "Redis backplane, StackExchange.Redis form (host:port,password=...,channelPrefix=...)"},
      {"Dashboard:Root", "<executable dir>/wwwroot", "folder served at /"},
      {"Metrics:Enabled", "true", "serve Prometheus metrics (docs/metrics.md)", k::flag},
      {"Metrics:Path", "/metrics", "where the metrics are served"},
      {"Metrics:Urls", "http://127.0.0.1:9464 (Development: empty)",
       "a listener of its own for the metrics, ';'-separated (empty: on Urls, the public port)"},
      {"Logging:LogLevel:*", "Information",
       "Default, or a category (e.g. hubcast.http): Trace|Debug|Information|Warning|Error"},
  };
  return all;
}

namespace {
const setting& find_setting(std::string_view key, setting::kind type) {
  for (const auto& s : known_settings())
    if (s.key == key && s.type == type) return s;
  throw std::logic_error("not a known setting of that kind: " + std::string(key));
}
}  // namespace

long setting_number(const configuration& cfg, std::string_view key) {
  const auto& s = find_setting(key, setting::kind::number);
  return cfg.number(std::string(key), std::stol(std::string(s.fallback)), static_cast<long>(s.min),
                    static_cast<long>(s.max));
}

std::chrono::milliseconds setting_duration(const configuration& cfg, std::string_view key) {
  const auto& s = find_setting(key, setting::kind::duration);
  return cfg.duration(std::string(key), parse_duration(std::string(s.fallback)),
                      std::chrono::milliseconds(s.min),
                      s.max ? std::chrono::milliseconds(s.max) : std::chrono::milliseconds::max());
}

bool setting_flag(const configuration& cfg, std::string_view key) {
  const auto& s = find_setting(key, setting::kind::flag);
  return cfg.flag(std::string(key), s.fallback == "true");
}

void validate_settings(const configuration& cfg) {
  for (const auto& s : known_settings()) {
    switch (s.type) {
      case setting::kind::number:
        setting_number(cfg, s.key);
        break;
      case setting::kind::duration:
        setting_duration(cfg, s.key);
        break;
      case setting::kind::flag:
        setting_flag(cfg, s.key);
        break;
      case setting::kind::text:
        break;
    }
  }
}

std::vector<std::string> unknown_key_warnings(const configuration& cfg) {
  std::set<std::string> sections;
  for (const auto& s : known_settings()) sections.insert(lower(section_of(s.key)));
  std::vector<std::string> out;
  for (const auto& key : cfg.keys()) {
    auto l = lower(key);
    if (!sections.count(lower(section_of(key)))) continue;
    bool known = false;
    std::string_view best;
    std::size_t best_distance = SIZE_MAX;
    for (const auto& s : known_settings()) {
      auto k = lower(s.key);
      if (k.size() > 2 && k.compare(k.size() - 2, 2, ":*") == 0) {
        auto base = k.substr(0, k.size() - 2);
        if (l == base || l.rfind(base + ":", 0) == 0) known = true;
      } else if (l == k) {
        known = true;
      }
      if (known) break;
      auto d = distance(key, s.key);
      // A key cut short ("SignalR:KeepAlive") is as good a hint as a typo.
      if (k.size() > l.size() && k.compare(0, l.size(), l) == 0) d = std::min<std::size_t>(d, 1);
      if (d < best_distance) {
        best_distance = d;
        best = s.key;
      }
    }
    if (known) continue;
    std::string w = "unknown configuration key '" + key + "'";
    if (!best.empty() && best_distance <= std::max<std::size_t>(3, key.size() / 4)) {
      std::string suggestion(best);
      if (suggestion.size() > 2 && suggestion.compare(suggestion.size() - 2, 2, ":*") == 0)
        suggestion.resize(suggestion.size() - 2);
      w += " (did you mean '" + suggestion + "'?)";
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::string help_text(std::string_view version) {
  std::string h;
  h += "stockhub " + std::string(version) +
       ": JWT-secured stock prices over SignalR\n"
       "\n"
       "Usage:\n"
       "  stockhub [options] [--Section:Key=value]...   run the service\n"
       "  stockhub users add EMAIL [--role ROLE]... [--password-stdin]\n"
       "  stockhub users list | remove EMAIL | set-password EMAIL --password-stdin\n"
       "  stockhub dev-certs                             make a development HTTPS certificate\n"
       "\n"
       "Options:\n"
       "  --config FILE          appsettings.json to read (default: ./appsettings.json, else the\n"
       "                         one beside the executable)\n"
       "  --environment NAME     Development or Production (default: STOCKHUB_ENVIRONMENT,\n"
       "                         ASPNETCORE_ENVIRONMENT, DOTNET_ENVIRONMENT, else Production)\n"
       "  --urls URLS            the same as --Urls=URLS\n"
       "  --help, --version\n"
       "\n"
       "Configuration, like ASP.NET Core's: appsettings.json, appsettings.<Environment>.json,\n"
       "environment variables STOCKHUB_<Section>__<Key>, then --Section:Key=value (keys are\n"
       "case-insensitive; durations are \"hh:mm:ss[.fff]\" or seconds). Keys:\n";
  std::size_t width = 0;
  for (const auto& s : known_settings()) width = std::max(width, s.key.size());
  for (const auto& s : known_settings()) {
    std::string line = "  " + std::string(s.key);
    line.resize(width + 4, ' ');
    line += std::string(s.description);
    if (!s.fallback.empty()) line += " [" + std::string(s.fallback) + "]";
    h += line + "\n";
  }
  return h;
}

}  // namespace stockhub

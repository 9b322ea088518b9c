#include "commands.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace stockhub {

namespace {
std::string read_password_stdin() {
  std::string p;
  std::getline(std::cin, p);
  if (!p.empty() && p.back() == '\r') p.pop_back();
  return p;
}

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}
}  // namespace

const char* const users_help =
    "Usage:\n"
    "  stockhub users add EMAIL [--role ROLE]... [--password-stdin]\n"
    "      adds a user; without --password-stdin a password is generated and printed\n"
    "  stockhub users list\n"
    "  stockhub users remove EMAIL\n"
    "  stockhub users set-password EMAIL --password-stdin\n"
    "Roles: Admin, Trader (as written). The store is Database:Path of the configuration\n"
    "(--config, --Database:Path=...).\n";

command_line parse_command_line(int argc, char** argv) {
  command_line o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string name = a, inline_value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        inline_value = a.substr(eq + 1);
        has_inline = true;
      }
    }
    auto value = [&]() -> std::string {
      if (has_inline) return inline_value;
      if (i + 1 >= argc) throw usage_error(name + " needs a value");
      return argv[++i];
    };
    if (name == "--help" || name == "-h") {
      o.help = true;
    } else if (name == "--version") {
      o.version = true;
    } else if (name == "--config") {
      o.config_file = value();
    } else if (name == "--environment") {
      o.environment = value();
    } else if (name == "--urls") {
      o.overrides.emplace_back("Urls", value());
    } else if (name == "--role") {
      o.roles.push_back(value());
    } else if (name == "--password-stdin") {
      o.password_stdin = true;
    } else if (name.rfind("--", 0) == 0 && name.find(':') != std::string::npos) {
      o.overrides.emplace_back(name.substr(2), value());
    } else if (name.rfind("--", 0) == 0) {
      throw usage_error("unknown option " + name);
    } else {
      o.positional.push_back(a);
    }
  }
  return o;
}

std::string environment_name(const command_line& cl) {
  if (!cl.environment.empty()) return cl.environment;
  for (const char* var : {"STOCKHUB_ENVIRONMENT", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"})
    if (const char* v = std::getenv(var); v && *v) return v;
  return "Production";
}

bool is_environment(const std::string& name, const char* wanted) {
  std::string w(wanted);
  if (name.size() != w.size()) return false;
  for (std::size_t i = 0; i < w.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(name[i])) !=
        std::tolower(static_cast<unsigned char>(w[i])))
      return false;
  return true;
}

configuration load_configuration(const command_line& cl, const std::string& environment,
                                 char** envp) {
  configuration cfg;
  std::filesystem::path file = cl.config_file;
  if (file.empty()) {
    file = "appsettings.json";
    if (!std::filesystem::exists(file)) {
      auto beside = executable_dir() / "appsettings.json";
      if (std::filesystem::exists(beside)) file = beside;
    }
  }
  cfg.load_json_file(file.string(), !cl.config_file.empty());
  cfg.load_json_file((file.parent_path() / ("appsettings." + environment + ".json")).string(),
                     false);
  cfg.load_environment("STOCKHUB_", envp);
  for (const auto& [k, v] : cl.overrides) cfg.set(k, v);
  return cfg;
}

int users_command(user_store& store, const command_line& o) {
  const auto& a = o.positional;
  if (o.help || a.size() < 2) {
    (o.help ? std::cout : std::cerr) << users_help;
    return o.help ? 0 : 2;
  }
  try {
    if (a[1] == "list") {
      for (const auto& u : store.list()) {
        std::cout << u.email;
        for (std::size_t i = 0; i < u.roles.size(); ++i)
          std::cout << (i ? "," : "\t") << u.roles[i];
        std::cout << "\n";
      }
      return 0;
    }
    if (a.size() < 3) {
      std::cerr << "stockhub: users " << a[1] << " needs an e-mail address\n" << users_help;
      return 2;
    }
    if (a[1] == "add") {
      for (const auto& r : o.roles) {
        if (r != "Admin" && r != "Trader") {
          std::cerr << "stockhub: unknown role '" << r
                    << "' (known roles: Admin, Trader; as written, roles are case-sensitive)\n";
          return 2;
        }
      }
      std::string password = o.password_stdin ? read_password_stdin() : generate_password();
      store.add(a[2], password, o.roles);
      if (!o.password_stdin) std::cout << "password: " << password << "\n";
      return 0;
    }
    if (a[1] == "remove") {
      if (!store.remove(a[2])) {
        std::cerr << "stockhub: no user " << a[2] << "\n";
        return 1;
      }
      return 0;
    }
    if (a[1] == "set-password") {
      if (!o.password_stdin) {
        std::cerr << "stockhub: set-password reads the new password from --password-stdin\n";
        return 2;
      }
      if (!store.set_password(a[2], read_password_stdin())) {
        std::cerr << "stockhub: no user " << a[2] << "\n";
        return 1;
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "stockhub: error: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "stockhub: unknown users command '" << a[1] << "'\n" << users_help;
  return 2;
}

}  // namespace stockhub

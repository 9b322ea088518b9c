// stockhub's command line: options, the environment and the layered configuration, and the
// `users` commands.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "user_store.hpp"

namespace stockhub {

// A command-line mistake: printed with a pointer to --help, exit code 2.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct command_line {
  std::string config_file;  // empty: ./appsettings.json, else the one beside the executable
  std::string environment;  // empty: from the environment variables, else Production
  std::vector<std::pair<std::string, std::string>> overrides;
  std::vector<std::string> positional;
  std::vector<std::string> roles;
  bool password_stdin = false;
  bool help = false;
  bool version = false;
};

// Throws usage_error. Options take "--name value" and "--name=value".
command_line parse_command_line(int argc, char** argv);

// --environment, else STOCKHUB_ENVIRONMENT, ASPNETCORE_ENVIRONMENT, DOTNET_ENVIRONMENT, else
// "Production".
std::string environment_name(const command_line& cl);
// Compared as .NET does (IsDevelopment: case-insensitive).
bool is_environment(const std::string& name, const char* wanted);

// appsettings.json (see command_line::config_file), appsettings.<Environment>.json beside it,
// STOCKHUB_* variables, then the --Section:Key overrides. Throws configuration_error.
configuration load_configuration(const command_line& cl, const std::string& environment,
                                 char** envp);

// `stockhub users ...`; returns the exit code.
int users_command(user_store& store, const command_line& cl);
extern const char* const users_help;

}  // namespace stockhub

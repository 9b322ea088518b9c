// Users and refresh tokens in SQLite (WAL). Passwords hashed with Argon2id (libsodium);
// refresh tokens stored as SHA-256 hashes, rotated on use, a reused one revokes its family.
// Thread-safe (one connection behind a mutex); hashing is slow by design: call it off the I/O
// threads.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "account_requests.hpp"

struct sqlite3;

namespace stockhub {

struct user {
  long long id = 0;
  std::string email;
  std::vector<std::string> roles;
};

class user_store {
 public:
  explicit user_store(const std::string& path);
  ~user_store();
  user_store(const user_store&) = delete;
  user_store& operator=(const user_store&) = delete;

  // Throws std::runtime_error if the email exists or is invalid.
  user add(const std::string& email, const std::string& password, std::vector<std::string> roles);
  std::vector<user> list();
  bool remove(const std::string& email);
  bool set_password(const std::string& email, const std::string& password);
  std::size_t count();
  // The user when the password matches. An unknown email costs the same hashing time.
  std::optional<user> verify(const std::string& email, const std::string& password);

  // Refresh tokens: returns the new token (shown once to the client).
  std::string issue_refresh(const user& u, std::chrono::seconds lifetime,
                            const std::string& family = {});
  enum class refresh_outcome { ok, unknown, expired, reused };
  // Rotates `token`: on ok, `u` and `family` are set and the old token is spent.
  refresh_outcome redeem_refresh(const std::string& token, user& u, std::string& family);
  void revoke_refresh(const std::string& token);

 private:
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::string dummy_hash_;
  std::optional<user> find_locked(const std::string& email, std::string* hash);
  void exec(const char* sql);
};

std::string random_token(std::size_t bytes = 32);
std::string generate_password();

}  // namespace stockhub

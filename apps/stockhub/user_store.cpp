#include "user_store.hpp"

#include <hubcast/auth/base64url.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace stockhub {

namespace {

std::string sha256_hex(const std::string& s) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += d[md[i] >> 4];
    out += d[md[i] & 15];
  }
  return out;
}

std::string hash_password(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    throw std::runtime_error("password hashing failed (out of memory)");
  return out;
}

struct statement {
  sqlite3_stmt* s = nullptr;
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(s); }
  statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, long long v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(sqlite3_db_handle(s)));
  }
  std::string text(int col) {
    auto p = sqlite3_column_text(s, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  long long integer(int col) { return sqlite3_column_int64(s, col); }
};

std::vector<std::string> split_roles(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_roles(const std::vector<std::string>& r) {
  std::string out;
  for (const auto& x : r) {
    if (x.empty() || x.find(',') != std::string::npos)
      throw std::runtime_error("invalid role name");
    out += (out.empty() ? "" : ",") + x;
  }
  return out;
}

long long now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string random_token(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), int(raw.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return hubcast::auth::base64url_encode(
      std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string generate_password() {
  return random_token(15);
}

user_store::user_store(const std::string& path) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open database " + path + ": " + sqlite3_errmsg(db_));
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA foreign_keys=ON");
  exec(
      "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
      "password_hash TEXT NOT NULL, roles TEXT NOT NULL DEFAULT '') STRICT");
  exec(
      "CREATE TABLE IF NOT EXISTS refresh_tokens (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT "
      "NULL REFERENCES users(id) ON DELETE CASCADE, family TEXT NOT NULL, expires_at INTEGER NOT "
      "NULL, used INTEGER NOT NULL DEFAULT 0) STRICT");
  dummy_hash_ = hash_password(random_token());
}

user_store::~user_store() {
  sqlite3_close(db_);
}

void user_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + msg);
  }
}

user user_store::add(const std::string& email_in, const std::string& password,
                     std::vector<std::string> roles) {
  auto email = normalize_email(email_in);
  if (!valid_email(email))
    throw std::runtime_error("invalid email address (expected printable ASCII name@domain)");
  if (password.size() < 8 || password.size() > 1024)
    throw std::runtime_error("passwords need 8 to 1024 characters");
  auto hash = hash_password(password);
  std::lock_guard lock(mutex_);
  if (find_locked(email, nullptr)) throw std::runtime_error("user " + email + " already exists");
  statement st(db_, "INSERT INTO users (email, password_hash, roles) VALUES (?, ?, ?)");
  st.bind(1, email).bind(2, hash).bind(3, join_roles(roles)).step();
  return user{sqlite3_last_insert_rowid(db_), email, std::move(roles)};
}

std::optional<user> user_store::find_locked(const std::string& email, std::string* hash) {
  statement st(db_, "SELECT id, email, roles, password_hash FROM users WHERE email = ?");
  st.bind(1, normalize_email(email));
  if (!st.step()) return std::nullopt;
  if (hash) *hash = st.text(3);
  return user{st.integer(0), st.text(1), split_roles(st.text(2))};
}

std::vector<user> user_store::list() {
  std::lock_guard lock(mutex_);
  statement st(db_, "SELECT id, email, roles FROM users ORDER BY email");
  std::vector<user> out;
  while (st.step()) out.push_back(user{st.integer(0), st.text(1), split_roles(st.text(2))});
  return out;
}

bool user_store::remove(const std::string& email) {
  std::lock_guard lock(mutex_);
  statement st(db_, "DELETE FROM users WHERE email = ?");
  st.bind(1, normalize_email(email)).step();
  return sqlite3_changes(db_) > 0;
}

bool user_store::set_password(const std::string& email, const std::string& password) {
  if (password.size() < 8 || password.size() > 1024)
    throw std::runtime_error("passwords need 8 to 1024 characters");
  auto hash = hash_password(password);
  std::lock_guard lock(mutex_);
  statement st(db_, "UPDATE users SET password_hash = ? WHERE email = ?");
  st.bind(1, hash).bind(2, normalize_email(email)).step();
  bool changed = sqlite3_changes(db_) > 0;
  if (changed) {
    // A new password ends every session.
    statement del(
        db_, "DELETE FROM refresh_tokens WHERE user_id = (SELECT id FROM users WHERE email = ?)");
    del.bind(1, normalize_email(email)).step();
  }
  return changed;
}

std::size_t user_store::count() {
  std::lock_guard lock(mutex_);
  statement st(db_, "SELECT COUNT(*) FROM users");
  st.step();
  return static_cast<std::size_t>(st.integer(0));
}

std::optional<user> user_store::verify(const std::string& email, const std::string& password) {
  std::string hash;
  std::optional<user> u;
  {
    std::lock_guard lock(mutex_);
    u = find_locked(email, &hash);
  }
  // Same work for unknown users: no timing oracle for which emails exist.
  const std::string& h = u ? hash : dummy_hash_;
  bool ok = crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
  if (!u || !ok) return std::nullopt;
  return u;
}

std::string user_store::issue_refresh(const user& u, std::chrono::seconds lifetime,
                                      const std::string& family_in) {
  auto token = random_token();
  auto family = family_in.empty() ? random_token(16) : family_in;
  std::lock_guard lock(mutex_);
  statement st(
      db_,
      "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES (?, ?, ?, ?)");
  st.bind(1, sha256_hex(token))
      .bind(2, u.id)
      .bind(3, family)
      .bind(4, now_s() + lifetime.count())
      .step();
  return token;
}

user_store::refresh_outcome user_store::redeem_refresh(const std::string& token, user& u,
                                                       std::string& family) {
  std::lock_guard lock(mutex_);
  statement st(db_,
               "SELECT r.user_id, r.family, r.expires_at, r.used, u.email, u.roles FROM "
               "refresh_tokens r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?");
  st.bind(1, sha256_hex(token));
  if (!st.step()) return refresh_outcome::unknown;
  family = st.text(1);
  if (st.integer(3) != 0) {
    // Reuse of a spent token: somebody else holds the family. Revoke all of it.
    statement del(db_, "DELETE FROM refresh_tokens WHERE family = ?");
    del.bind(1, family).step();
    return refresh_outcome::reused;
  }
  if (st.integer(2) < now_s()) return refresh_outcome::expired;
  u = user{st.integer(0), st.text(4), split_roles(st.text(5))};
  statement spend(db_, "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?");
  spend.bind(1, sha256_hex(token)).step();
  return refresh_outcome::ok;
}

void user_store::revoke_refresh(const std::string& token) {
  std::lock_guard lock(mutex_);
  statement st(db_,
               "DELETE FROM refresh_tokens WHERE family = (SELECT family FROM refresh_tokens WHERE "
               "token_hash = ?)");
  st.bind(1, sha256_hex(token)).step();
}

}  // namespace stockhub

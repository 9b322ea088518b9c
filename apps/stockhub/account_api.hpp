// stockhub's account endpoints: POST /api/login, /api/refresh, /api/logout (JSON bodies only:
// anything but application/json is 415, so no cross-site form can post them), GET /api/me.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include <hubcast/auth/jwt.hpp>
#include <hubcast/server/app.hpp>
#include "login_throttle.hpp"
#include "user_store.hpp"

namespace stockhub {

struct account_api_options {
  hubcast::auth::jwt_key signing_key;
  std::string issuer;
  std::string audience;
  std::chrono::seconds access_lifetime{900};
  std::chrono::seconds refresh_lifetime{7 * 24 * 3600};
  // Password checks (Argon2id, ~60 ms each on the 2-thread pool) waiting or running at once;
  // a login past it is answered 503 with Retry-After at once instead of queueing for seconds.
  std::size_t max_pending_logins = 32;
};

// `users`, `workers` and `throttle` must outlive the app's run().
void map_account_api(hubcast::app& app, user_store& users, boost::asio::thread_pool& workers,
                     login_throttle& throttle, account_api_options options);

}  // namespace stockhub

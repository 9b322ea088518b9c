// GET /healthz (alive: the process serves HTTP) and GET /readyz (ready for traffic: listening,
// the user store answers, Redis connected when configured, not shutting down), in ASP.NET Core's
// health-check words: 200 "Healthy" or 503 "Unhealthy". Anonymous callers learn only the status;
// the reason is logged when readiness changes (a host:port or an error text is not theirs).
//
// /readyz never waits: the user store is probed every second on a thread of its own (not the
// login pool, where Argon2id hashing queues behind failed logins) and the answer reads the last
// probe; a probe that has not come back for 5 s counts as the store not answering.
#pragma once

#include <memory>

#include <hubcast/server/app.hpp>

namespace hubcast::redis {
class redis_backplane;
}
#include "user_store.hpp"

namespace stockhub {

// The user store's probe: runs until stopped (or destroyed).
class readiness {
 public:
  virtual ~readiness() = default;
  virtual void stop() = 0;
};

// Maps both endpoints; the returned probe runs until destroyed (before `users` and `app` are).
// `backplane`: Redis, when the node is on one (not ready while it is disconnected).
std::shared_ptr<readiness> map_health(hubcast::app& app, user_store& users,
                                      const hubcast::redis::redis_backplane* backplane);

}  // namespace stockhub

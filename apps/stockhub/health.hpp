// GET /healthz (alive: the process serves HTTP) and GET /readyz (ready for traffic: listening,
// the user store answers, Redis connected when configured, not shutting down; otherwise 503
// with the reason), in ASP.NET Core's health-check words ("Healthy", "Unhealthy: ...").
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "server/app.hpp"
#include "user_store.hpp"

namespace stockhub {

// `app`, `users` and `workers` must outlive the app's run().
void map_health(hubcast::app& app, user_store& users, boost::asio::thread_pool& workers);

}  // namespace stockhub

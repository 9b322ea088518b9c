// Scale-out on Redis for an app (ASP.NET Core's AddStackExchangeRedis), wire-compatible with
// ASP.NET Core's backplane: every hub mapped after this call is served through it.
#pragma once

#include <memory>
#include <string_view>

#include <hubcast/redis/redis_backplane.hpp>
#include <hubcast/server/app.hpp>

namespace hubcast::redis {

// `configuration` is in StackExchange.Redis's form ("host:port,password=…,channelPrefix=…");
// throws std::invalid_argument when it is wrong. Before the hubs are mapped. Redis is connected
// in the background from app.start(). The app keeps the backplane; the caller may too (its own
// channels, connected() for a readiness probe), but not past the app: it runs on the app's
// shards.
std::shared_ptr<redis_backplane> use_redis(app& a, std::string_view configuration);

}  // namespace hubcast::redis

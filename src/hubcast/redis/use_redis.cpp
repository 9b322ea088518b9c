#include <hubcast/redis/use_redis.hpp>

namespace hubcast::redis {

std::shared_ptr<redis_backplane> use_redis(app& a, std::string_view configuration) {
  auto backplane = std::make_shared<redis_backplane>(a.shards(), configuration);
  a.use_lifetime_managers(backplane);
  return backplane;
}

}  // namespace hubcast::redis

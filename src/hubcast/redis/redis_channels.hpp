// The Redis channel names of ASP.NET Core's backplane (RedisChannels): the hub's backplane
// name (ASP.NET Core uses the hub's full .NET type name), then a suffix per kind. StackExchange
// .Redis's ChannelPrefix, when configured, is put in front of every name as it is.
// docs/scale-out.md and design/redis-backplane.md list them.
#pragma once

#include <string>
#include <string_view>

namespace hubcast::redis {

class redis_channels {
 public:
  redis_channels(std::string_view channel_prefix, std::string_view hub_name)
      : prefix_(std::string(channel_prefix) + std::string(hub_name)) {}

  // Invocations to every connection (SendAll, SendAllExcept, Others).
  std::string all() const { return prefix_ + ":all"; }
  // Group commands for connections on other servers.
  std::string group_management() const { return prefix_ + ":internal:groups"; }
  // Acks of `server`'s group commands.
  std::string ack(std::string_view server) const { return join(":internal:ack:", server); }
  // Client results for `server`'s InvokeClient calls.
  std::string return_results(std::string_view server) const {
    return join(":internal:return:", server);
  }
  std::string connection(std::string_view id) const { return join(":connection:", id); }
  std::string group(std::string_view name) const { return join(":group:", name); }
  std::string user(std::string_view id) const { return join(":user:", id); }

  const std::string& prefix() const { return prefix_; }

 private:
  std::string join(std::string_view kind, std::string_view rest) const {
    std::string s;
    s.reserve(prefix_.size() + kind.size() + rest.size());
    s.append(prefix_).append(kind).append(rest);
    return s;
  }
  std::string prefix_;
};

}  // namespace hubcast::redis

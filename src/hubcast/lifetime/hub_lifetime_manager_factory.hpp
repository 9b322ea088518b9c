// Makes the lifetime manager of every hub an app maps: ASP.NET Core's HubLifetimeManager<THub>
// registration, which AddStackExchangeRedis replaces. The extension point of scale-out:
// hubcast::redis::use_redis registers Redis's, and an application's own manager (another
// backplane, a test double) registers the same way, with app::use_lifetime_managers before the
// hubs are mapped. Without one, each hub gets a default_hub_lifetime_manager (one process).
#pragma once

#include <memory>
#include <string>

#include <hubcast/lifetime/hub_lifetime_manager.hpp>
#include <hubcast/session/hub_options.hpp>

namespace hubcast::lifetime {

class hub_lifetime_manager_factory {
 public:
  virtual ~hub_lifetime_manager_factory() = default;

  // One hub's manager, called once per map_hub. `name`: the hub's name across servers
  // (hub_options::backplane_name, else its path). `options` outlives the manager.
  virtual std::shared_ptr<hub_lifetime_manager> create(const hub_options& options,
                                                       std::string name) = 0;
  // With the app: start() once the app listens (every hub mapped), stop() once its
  // connections are gone at shutdown (and from the app's destructor; twice is harmless).
  virtual void start() {}
  virtual void stop() {}
};

}  // namespace hubcast::lifetime

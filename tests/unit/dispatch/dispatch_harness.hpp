// The dispatcher over an in-memory connection (no sockets): what the dispatch tests drive.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <hubcast/core/shards.hpp>
#include <hubcast/dispatch/hub_dispatcher.hpp>
#include <hubcast/lifetime/default_hub_lifetime_manager.hpp>
#include <hubcast/server/authorization_filter.hpp>
#include <hubcast/transport/connection_manager.hpp>
#include "test_hubs.hpp"

namespace unit {

using namespace hubcast;
namespace asio = boost::asio;

class harness {
 public:
  // Every invocation passes method authorization (roles named as policies), then `filters`.
  explicit harness(hub_options o = {}, std::vector<std::shared_ptr<hub_filter>> filters = {})
      : shards_(1), options_(o) {
    lifetime_ = std::make_shared<lifetime::default_hub_lifetime_manager>(shards_, options_);
    hub_methods<unit::calc_hub> m;
    unit::calc_hub::configure(m);
    dispatch::hub_definition def;
    def.methods = std::move(m.list());
    def.factory = [] { return std::make_unique<unit::calc_hub>(); };
    def.name = "/calc";
    dispatcher_ = std::make_shared<dispatch::hub_dispatcher>(std::move(def), options_, lifetime_);
    filters.insert(filters.begin(), std::make_shared<authorization_filter>(
                                        [](const std::vector<std::string>& policies,
                                           const auth::claims_principal& u) {
                                          for (auto& p : policies)
                                            if (!u.is_in_role(p)) return false;
                                          return true;
                                        }));
    dispatcher_->set_filters(std::move(filters));
  }

  std::shared_ptr<transport::connection> connect(
      std::shared_ptr<const auth::claims_principal> user = {}) {
    auto c = manager_.create(1, {});
    c->attach(transport::transport_type::websockets, http::request{}, 0, shards_.executor(0),
              nullptr);
    c->set_user(std::move(user), std::nullopt);
    asio::co_spawn(shards_.executor(0), dispatcher_->on_connected(c), asio::detached);
    pump();
    return c;
  }

  void pump() {
    // Runs ready work until the connection has been idle for a few milliseconds.
    auto& ctx = shards_.context(0);
    int idle = 0;
    for (int i = 0; i < 1000 && idle < 3; ++i) {
      ctx.restart();
      if (ctx.poll() > 0) {
        idle = 0;
        continue;
      }
      ctx.restart();
      idle = ctx.run_for(std::chrono::milliseconds(1)) > 0 ? 0 : idle + 1;
    }
  }

  std::string exchange(transport::connection& c, std::string in) {
    c.push_input(std::move(in), false);
    pump();
    std::string out;
    for (auto& b : c.take_output()) out += *b;
    return out;
  }

  // Runs only what is ready now (a timer a hub method waits on stays pending).
  void poll() {
    shards_.context(0).restart();
    shards_.context(0).poll();
  }

  hub_options& options() { return options_; }
  lifetime::hub_lifetime_manager& lifetime() { return *lifetime_; }

 private:
  shard_pool shards_;
  hub_options options_;
  transport::connection_manager manager_{std::chrono::seconds(15)};
  std::shared_ptr<lifetime::hub_lifetime_manager> lifetime_;
  std::shared_ptr<dispatch::hub_dispatcher> dispatcher_;
};

inline const std::string hs = std::string("{\"protocol\":\"json\",\"version\":1}\x1e");

inline std::string rec(std::string s) {
  return s + "\x1e";
}

}  // namespace unit

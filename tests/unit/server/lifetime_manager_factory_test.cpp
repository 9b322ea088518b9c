// app::use_lifetime_managers: the scale-out extension point (what redis::use_redis registers).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <hubcast/lifetime/default_hub_lifetime_manager.hpp>
#include <hubcast/server/app.hpp>

namespace {

struct empty_hub : hubcast::hub {
  static void configure(hubcast::hub_methods<empty_hub>&) {}
};

// Makes in-process managers and records what the app asked for.
class recording_factory final : public hubcast::lifetime::hub_lifetime_manager_factory {
 public:
  explicit recording_factory(hubcast::shard_pool& shards) : shards_(shards) {}
  std::shared_ptr<hubcast::lifetime::hub_lifetime_manager> create(
      const hubcast::hub_options& options, std::string name) override {
    std::lock_guard lock(mutex);
    names.push_back(name);
    if (refuse) return nullptr;
    return std::make_shared<hubcast::lifetime::default_hub_lifetime_manager>(shards_, options);
  }
  void start() override { ++starts; }
  void stop() override { ++stops; }

  std::mutex mutex;
  std::vector<std::string> names;
  bool refuse = false;
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};

 private:
  hubcast::shard_pool& shards_;
};

hubcast::app_options one_thread() {
  hubcast::app_options o;
  o.urls = {"http://127.0.0.1:0"};
  o.threads = 1;
  return o;
}

}  // namespace

TEST(LifetimeManagerFactory, MakesEveryHubsManagerByItsNameAndRunsWithTheApp) {
  hubcast::app app(one_thread());
  auto factory = std::make_shared<recording_factory>(app.shards());
  app.use_lifetime_managers(factory);
  EXPECT_EQ(app.lifetime_managers(), factory.get());
  app.map_hub<empty_hub>("/chat");
  hubcast::hub_options named;
  named.backplane_name = "Chat.Hubs.QuotesHub";  // the name ASP.NET Core nodes use
  app.map_hub<empty_hub>("/quotes", named);
  EXPECT_EQ(factory->names, (std::vector<std::string>{"/chat", "Chat.Hubs.QuotesHub"}));
  EXPECT_EQ(factory->starts, 0);

  app.on_listening([&](const std::vector<std::string>&) { app.stop(); });
  std::thread runner([&] { EXPECT_EQ(app.run(), 0); });
  runner.join();
  EXPECT_EQ(factory->starts, 1);
  EXPECT_GE(factory->stops, 1);  // at shutdown (and again from ~app: harmless)
}

TEST(LifetimeManagerFactory, IsGivenOnceBeforeTheHubsAndMustMakeAManager) {
  hubcast::app app(one_thread());
  EXPECT_EQ(app.lifetime_managers(), nullptr);
  EXPECT_THROW(app.use_lifetime_managers(nullptr), std::invalid_argument);
  auto factory = std::make_shared<recording_factory>(app.shards());
  app.use_lifetime_managers(factory);
  EXPECT_THROW(app.use_lifetime_managers(std::make_shared<recording_factory>(app.shards())),
               std::logic_error);
  factory->refuse = true;
  EXPECT_THROW(app.map_hub<empty_hub>("/nothing"), std::logic_error);

  hubcast::app late(one_thread());
  late.map_hub<empty_hub>("/chat");  // an in-process manager already serves it
  EXPECT_THROW(late.use_lifetime_managers(std::make_shared<recording_factory>(late.shards())),
               std::logic_error);
}

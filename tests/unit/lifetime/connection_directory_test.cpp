#include <hubcast/lifetime/connection_directory.hpp>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

using hubcast::lifetime::connection_directory;

TEST(ConnectionDirectory, PlansOneHopPerOwningShard) {
  connection_directory d;
  const std::string a = "conn-a", b = "conn-b", c = "conn-c";
  const std::optional<std::string> alice = "alice", bob = "bob";
  d.add(a, alice, 0);
  d.add(b, alice, 1);
  d.add(c, bob, 1);
  EXPECT_EQ(d.shard_of("conn-b"), 1u);
  EXPECT_EQ(d.shard_of("nobody"), std::nullopt);

  auto p = d.plan_connections({"conn-c", "nobody", "conn-a", "conn-c"});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].first, 0u);
  EXPECT_EQ(p[0].second, std::vector<std::string>{"conn-a"});
  EXPECT_EQ(p[1].first, 1u);
  EXPECT_EQ(p[1].second, std::vector<std::string>{"conn-c"});  // once, however often named

  auto u = d.plan_users({"alice", "carol"});
  ASSERT_EQ(u.size(), 2u);  // alice is on both shards
  EXPECT_EQ(u[0].second, std::vector<std::string>{"alice"});
  EXPECT_EQ(u[1].second, std::vector<std::string>{"alice"});

  d.remove(a, alice, 0);
  u = d.plan_users({"alice"});
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].first, 1u);
  d.remove(b, alice, 1);
  EXPECT_TRUE(d.plan_users({"alice"}).empty());
  EXPECT_EQ(d.connection_count(), 1u);
}

TEST(ConnectionDirectory, ARemoveFromAnotherShardDoesNotUnregister) {
  connection_directory d;
  const std::string a = "conn-a";
  d.add(a, std::nullopt, 2);
  d.remove(a, std::nullopt, 1);  // a stale removal: the connection moved or was re-added
  EXPECT_EQ(d.shard_of(a), 2u);
  d.remove(a, std::nullopt, 2);
  EXPECT_EQ(d.shard_of(a), std::nullopt);
}

TEST(ConnectionDirectory, IsSafeAcrossThreads) {
  connection_directory d;
  std::vector<std::string> ids;
  for (int i = 0; i < 4000; ++i) ids.push_back("c" + std::to_string(i));
  const std::optional<std::string> user = "u";
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < ids.size(); i += 4) d.add(ids[i], user, t);
      for (std::size_t i = t; i < ids.size(); i += 8) d.remove(ids[i], user, t);
      for (int k = 0; k < 100; ++k) (void)d.plan_users({"u"});
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(d.connection_count(), 2000u);
  EXPECT_EQ(d.plan_users({"u"}).size(), 4u);
}

}  // namespace

#include "login_throttle.hpp"

#include <gtest/gtest.h>

using stockhub::login_throttle;

namespace {
struct fake_clock {
  login_throttle::clock::time_point t{};
  std::function<login_throttle::clock::time_point()> fn() {
    return [this] { return t; };
  }
};
}  // namespace

TEST(LoginThrottle, LocksAnAccountAfterFiveFailuresForTheWindow) {
  fake_clock c;
  login_throttle::options o;
  o.now = c.fn();
  login_throttle t(o);
  for (int i = 0; i < 4; ++i) t.fail("account:victim@x");
  EXPECT_FALSE(t.blocked("account:victim@x"));
  t.fail("account:victim@x");
  EXPECT_TRUE(t.blocked("account:victim@x"));
  c.t += std::chrono::seconds(299);
  EXPECT_TRUE(t.blocked("account:victim@x"));
  c.t += std::chrono::seconds(2);
  EXPECT_FALSE(t.blocked("account:victim@x")) << "the window ended";
  for (int i = 0; i < 49; ++i) t.fail("address:10.0.0.1");
  EXPECT_FALSE(t.blocked("address:10.0.0.1"));
  t.fail("address:10.0.0.1");
  EXPECT_TRUE(t.blocked("address:10.0.0.1"));
}

// Spraying made-up addresses used to clear every counter at 100,000 keys.
TEST(LoginThrottle, ASprayEvictsIdleKeysNotLockedAccounts) {
  fake_clock c;
  login_throttle::options o;
  o.now = c.fn();
  o.capacity = 1000;
  login_throttle t(o);
  for (int i = 0; i < 5; ++i) t.fail("account:victim@x");
  t.fail("account:almost@x");
  for (int i = 0; i < 5000; ++i) {
    c.t += std::chrono::milliseconds(1);
    t.fail("account:sprayed-" + std::to_string(i) + "@x");
  }
  EXPECT_LE(t.size(), 1000u) << "memory stays bounded";
  EXPECT_TRUE(t.blocked("account:victim@x")) << "the locked account is still locked";
  EXPECT_TRUE(t.blocked("account:victim@x"));
  EXPECT_TRUE(t.blocked("account:sprayed-4999@x") == false);
  // The oldest idle key went first.
  for (int i = 0; i < 4; ++i) t.fail("account:almost@x");
  EXPECT_FALSE(t.blocked("account:almost@x")) << "its one early failure was evicted";
}

TEST(LoginThrottle, WhenEveryKeyIsLockedTheOldestGoes) {
  fake_clock c;
  login_throttle::options o;
  o.now = c.fn();
  o.capacity = 2;
  o.account_limit = 1;
  login_throttle t(o);
  t.fail("account:a");
  c.t += std::chrono::seconds(1);
  t.fail("account:b");
  c.t += std::chrono::seconds(1);
  t.fail("account:c");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_FALSE(t.blocked("account:a"));
  EXPECT_TRUE(t.blocked("account:b"));
  EXPECT_TRUE(t.blocked("account:c"));
}

TEST(LoginThrottle, ExpiredKeysAreEvictedFirst) {
  fake_clock c;
  login_throttle::options o;
  o.now = c.fn();
  o.capacity = 2;
  login_throttle t(o);
  t.fail("account:old");
  c.t += std::chrono::seconds(10);
  for (int i = 0; i < 5; ++i) t.fail("account:locked");
  c.t += std::chrono::seconds(400);
  for (int i = 0; i < 5; ++i) t.fail("account:new");
  EXPECT_TRUE(t.blocked("account:new"));
  t.reset("account:new");
  EXPECT_FALSE(t.blocked("account:new"));
}

TEST(LoginThrottle, SaysHowLongALockLasts) {
  fake_clock c;
  login_throttle::options o;
  o.now = c.fn();
  login_throttle t(o);
  EXPECT_EQ(t.blocked_for("account:a@x").count(), 0);
  for (int i = 0; i < 5; ++i) t.fail("account:a@x");
  EXPECT_EQ(t.blocked_for("account:a@x").count(), 300);
  c.t += std::chrono::milliseconds(100500);
  EXPECT_EQ(t.blocked_for("account:a@x").count(), 200) << "rounded up";
  c.t += std::chrono::milliseconds(199400);
  EXPECT_EQ(t.blocked_for("account:a@x").count(), 1) << "never 0 while locked";
}

// A burst of 40 concurrent logins used to all pass the check before any failure was counted.
TEST(LoginThrottle, ABurstGetsExactlyTheLimitOfAttempts) {
  fake_clock c;
  login_throttle::options o;
  o.now = c.fn();
  login_throttle t(o);
  int admitted = 0;
  for (int i = 0; i < 40; ++i)
    if (t.try_reserve("account:victim@x").count() == 0) ++admitted;
  EXPECT_EQ(admitted, 5);
  EXPECT_EQ(t.try_reserve("account:victim@x"), std::chrono::seconds(1)) << "in flight: soon";
  // Four fail, one succeeds: the account is not locked, one more attempt may come.
  for (int i = 0; i < 4; ++i) t.fail("account:victim@x");
  t.release("account:victim@x");
  EXPECT_FALSE(t.blocked("account:victim@x"));
  EXPECT_EQ(t.try_reserve("account:victim@x").count(), 0);
  t.fail("account:victim@x");
  EXPECT_EQ(t.try_reserve("account:victim@x"), std::chrono::seconds(300)) << "five failures";
}

TEST(LoginThrottle, AReservationGivenBackLeavesNothing) {
  login_throttle t;
  EXPECT_EQ(t.try_reserve("address:10.0.0.1").count(), 0);
  t.release("address:10.0.0.1");
  EXPECT_EQ(t.size(), 0u);
  t.release("address:10.0.0.9");  // never reserved: nothing happens
  EXPECT_EQ(t.size(), 0u);
}

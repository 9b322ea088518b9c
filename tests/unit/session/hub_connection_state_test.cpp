// A hub connection's state behind member functions: the user identifier set once, its groups
// as a set (joins and leaves say whether anything changed), items, the lifetime slot.
#include <hubcast/session/hub_connection.hpp>

#include <gtest/gtest.h>

#include <hubcast/transport/connection.hpp>

namespace {

hubcast::session::hub_connection make(const hubcast::hub_options& options) {
  auto conn = std::make_shared<hubcast::transport::connection>("id", "token", 1,
                                                               hubcast::transport::queue_limits{});
  return hubcast::session::hub_connection(conn, options);
}

}  // namespace

TEST(HubConnectionState, TheUserIdentifierIsSetOnce) {
  hubcast::hub_options options;
  auto c = make(options);
  EXPECT_FALSE(c.user_identifier());
  c.set_user_identifier(std::string("alice"));
  EXPECT_EQ(c.user_identifier(), "alice");
  EXPECT_THROW(c.set_user_identifier(std::string("mallory")), std::logic_error);
  EXPECT_EQ(c.user_identifier(), "alice");

  auto anonymous = make(options);
  anonymous.set_user_identifier(std::nullopt);  // set, to nothing
  EXPECT_THROW(anonymous.set_user_identifier(std::string("late")), std::logic_error);
  EXPECT_FALSE(anonymous.user_identifier());
}

TEST(HubConnectionState, GroupsAreASetInJoinOrder) {
  hubcast::hub_options options;
  auto c = make(options);
  EXPECT_TRUE(c.join_group("ops"));
  EXPECT_TRUE(c.join_group("traders"));
  EXPECT_FALSE(c.join_group("ops"));
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"ops", "traders"}));
  EXPECT_FALSE(c.leave_group("nobody"));
  EXPECT_TRUE(c.leave_group("ops"));
  EXPECT_FALSE(c.leave_group("ops"));
  EXPECT_EQ(c.groups(), (std::vector<std::string>{"traders"}));
}

TEST(HubConnectionState, ItemsAndTheLifetimeSlot) {
  hubcast::hub_options options;
  auto c = make(options);
  c.items()["symbols"] = 3;
  EXPECT_EQ(std::any_cast<int>(c.items().at("symbols")), 3);
  EXPECT_EQ(c.shard_slot(), hubcast::session::hub_connection::no_slot);
  c.set_shard_slot(7);
  EXPECT_EQ(c.shard_slot(), 7u);
}

#include "user_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace stockhub;

TEST(Email, OneSpellingPerAddress) {
  EXPECT_EQ(normalize_email("  Victim@X.Example \t"), "victim@x.example");
  EXPECT_EQ(normalize_email("VICTIM@x"), normalize_email("victim@X"));
  EXPECT_TRUE(valid_email("a@b"));
  EXPECT_FALSE(valid_email("ab"));
  EXPECT_FALSE(valid_email("@b"));
  EXPECT_FALSE(valid_email("a@"));
  EXPECT_FALSE(valid_email("a@b@c"));
  EXPECT_FALSE(valid_email("a b@c"));
  EXPECT_FALSE(valid_email("a\n@c"));
  EXPECT_FALSE(
      valid_email("v\xc4\xb1"
                  "ctim@x"))
      << "non-ASCII: no Unicode case folding to get wrong";
}

TEST(UserStore, AddressesDifferingOnlyInCaseAreOneAccount) {
  auto path = std::filesystem::temp_directory_path() /
              ("stockhub-users-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  {
    user_store store(path.string());
    auto u = store.add(" Victim@X ", "correct horse battery", {"Trader"});
    EXPECT_EQ(u.email, "victim@x");
    EXPECT_THROW(store.add("VICTIM@x", "another password", {}), std::runtime_error);
    EXPECT_THROW(store.add("victim@x", "another password", {}), std::runtime_error);
    auto v = store.verify("VICTIM@X", "correct horse battery");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->email, "victim@x") << "tokens carry the normalized address";
    EXPECT_FALSE(store.verify("victim@x", "wrong password"));
    EXPECT_THROW(store.add("bad address", "correct horse battery", {}), std::runtime_error);
    EXPECT_EQ(store.count(), 1u);
  }
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

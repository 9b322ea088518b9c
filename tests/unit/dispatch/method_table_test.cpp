#include <hubcast/hubs/method_table.hpp>

#include <gtest/gtest.h>

#include "test_hubs.hpp"

using namespace hubcast;

namespace {
const detail::method_descriptor& find(hub_methods<unit::calc_hub>& m, std::string_view name) {
  for (auto& d : m.list())
    if (d.name == name) return d;
  throw std::runtime_error("no method");
}
}  // namespace

TEST(MethodTable, DerivesShapeFromTheSignature) {
  hub_methods<unit::calc_hub> m;
  unit::calc_hub::configure(m);
  EXPECT_EQ(find(m, "Add").arg_count, 2u);
  EXPECT_FALSE(find(m, "Add").streaming);
  EXPECT_TRUE(find(m, "Count").streaming);
  EXPECT_EQ(find(m, "Concat").arg_count, 0u);
  EXPECT_EQ(find(m, "Concat").stream_count, 1u);
  EXPECT_EQ(find(m, "Admin").policies, std::vector<std::string>{"Admin"});
}

TEST(MethodTable, BindingFailureHasTheReferenceDetail) {
  hub_methods<unit::calc_hub> m;
  unit::calc_hub::configure(m);
  std::vector<protocol::raw_value> args;
  args.emplace_back(boost::json::value("x"));
  args.emplace_back(boost::json::value(1));
  detail::upload_list uploads;
  try {
    find(m, "Add").bind(args, uploads, cancellation_token());
    FAIL();
  } catch (const detail::binding_failure& e) {
    EXPECT_STREQ(e.what(),
                 "InvalidDataException: Error binding arguments. Make sure that the types of the "
                 "provided values match the types of the hub method being invoked.");
  }
}

// The types TestHub exchanges with its clients (conformance-app.md), shared by the hub and by
// the C++ client's tests that call it: one definition of the wire contract, as the official
// suites' TypeScript and C# share theirs.
#pragma once

#include <string>
#include <vector>

#include <boost/describe/class.hpp>

#include <hubcast/protocol/value_codec.hpp>

namespace test_contract {

struct custom_object {
  std::string Name;
  int Value = 0;
};
BOOST_DESCRIBE_STRUCT(custom_object, (), (Name, Value))

struct complex_object {
  std::string String;
  std::vector<int> IntArray;
  hubcast::bytes ByteArray;
  std::string Guid;
  hubcast::date_time DateTime;
};
BOOST_DESCRIBE_STRUCT(complex_object, (), (String, IntArray, ByteArray, Guid, DateTime))

}  // namespace test_contract

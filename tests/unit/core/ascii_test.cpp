// ASCII case rules: only A-Z fold (header names, method names, member names).
#include <hubcast/core/ascii.hpp>

#include <gtest/gtest.h>

#include <map>

namespace ascii = hubcast::ascii;

TEST(Ascii, FoldsOnlyAToZ) {
  EXPECT_EQ(ascii::to_lower("Content-TYPE: X@[`Z{"), "content-type: x@[`z{");
  // UTF-8 bytes (and every byte past 0x7f) stay as they are, whatever the C locale says.
  EXPECT_EQ(ascii::to_lower("\xC3\x89T\xC3\xA9"), "\xC3\x89t\xC3\xA9");
  EXPECT_TRUE(ascii::iequals("Sec-WebSocket-Key", "sec-websocket-key"));
  EXPECT_FALSE(ascii::iequals("\xC3\x89", "\xC3\xA9"));  // É and é are not ASCII
  EXPECT_FALSE(ascii::iequals("abc", "abcd"));
  EXPECT_FALSE(ascii::iequals("@", "`"));  // 0x40 and 0x60 differ by 32 but are not letters
  EXPECT_TRUE(ascii::istarts_with("Bearer abc", "bearer "));
  EXPECT_FALSE(ascii::istarts_with("Bear", "bearer"));
  static_assert(ascii::iequals("ReceiveMessage", "receivemessage"));
}

TEST(Ascii, OrdersIgnoringCase) {
  std::map<std::string, int, ascii::iless> handlers;
  handlers["ReceiveMessage"] = 1;
  EXPECT_EQ(handlers.count("receivemessage"), 1u);
  handlers["receiveMESSAGE"] = 2;  // the same key
  EXPECT_EQ(handlers.size(), 1u);
  EXPECT_EQ(handlers["RECEIVEMESSAGE"], 2);
  EXPECT_TRUE(ascii::iless{}("abc", "ABCD"));
  EXPECT_FALSE(ascii::iless{}("ABCD", "abc"));
  EXPECT_TRUE(ascii::iless{}("a", "B"));
}

TEST(Ascii, TrimsOptionalWhitespaceOnly) {
  EXPECT_EQ(ascii::trim_ows(" \t value \t "), "value");
  EXPECT_EQ(ascii::trim_ows("a b"), "a b");  // inner whitespace stays
  EXPECT_EQ(ascii::trim_ows(" \t "), "");
  EXPECT_EQ(ascii::trim_ows(""), "");
  EXPECT_EQ(ascii::trim_ows("\r\nx\n"), "\r\nx\n");  // only SP and HTAB are OWS
  static_assert(ascii::trim_ows("  x ") == "x");
}

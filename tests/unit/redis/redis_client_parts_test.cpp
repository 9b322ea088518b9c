// The Redis client's pure parts: the configuration string and the RESP reader.
#include <gtest/gtest.h>

#include <hubcast/redis/redis_options.hpp>
#include <hubcast/redis/redis_value.hpp>

using namespace hubcast::redis;

TEST(RedisOptions, StackExchangeRedisForm) {
  auto o = redis_options::parse("localhost");
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 6379);
  o = redis_options::parse(
      " 10.0.0.5:6380 , password=s3cr=t,channelPrefix=app1,ssl=false,"
      "abortConnect=false,connectTimeout=2000,name=node-a");
  EXPECT_EQ(o.host, "10.0.0.5");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.password, "s3cr=t");
  EXPECT_EQ(o.channel_prefix, "app1");
  EXPECT_EQ(o.connect_timeout.count(), 2000);
  EXPECT_EQ(o.client_name, "node-a");
  EXPECT_EQ(o.endpoint(), "10.0.0.5:6380");
  o = redis_options::parse("[::1]:7000,redis2:7001");  // the first endpoint is used
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.endpoint(), "[::1]:7000");
}

TEST(RedisOptions, ClearErrors) {
  auto message = [](const char* s) {
    try {
      redis_options::parse(s);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("").find("no host:port"), std::string::npos);
  EXPECT_NE(message("host:99999").find("'99999' is not a port"), std::string::npos);
  EXPECT_NE(message("host:6379,pasword=x").find("unknown option 'pasword'"), std::string::npos);
  EXPECT_NE(message("host,ssl=maybe").find("ssl must be true or false"), std::string::npos);
  EXPECT_NE(message("host,ssl=true").find("not supported"), std::string::npos);
  EXPECT_NE(message("host,connectTimeout=-1").find("connectTimeout"), std::string::npos);
  // The password is never part of an error.
  EXPECT_EQ(message("host:x,password=hunter2").find("hunter2"), std::string::npos);
}

TEST(RedisReader, RepliesAcrossReads) {
  redis_reader r;
  std::string stream =
      "+OK\r\n:42\r\n$5\r\nhel\r\n\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$0\r\n\r\n"
      "-ERR wrong\r\n$-1\r\n";
  std::vector<std::unique_ptr<redis_value>> got;
  for (char c : stream) {  // one byte at a time
    ASSERT_TRUE(r.feed(std::string_view(&c, 1)));
    while (auto v = r.next()) got.push_back(std::move(v));
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0]->type, redis_value::kind::status);
  EXPECT_EQ(got[1]->integer, 42);
  EXPECT_EQ(got[2]->str, std::string("hel\r\n"));
  ASSERT_TRUE(got[3]->is_array(3));
  EXPECT_TRUE(got[3]->elements[0].is_string("message"));
  EXPECT_EQ(got[3]->elements[2].str, "");
  EXPECT_TRUE(got[4]->is_error());
  EXPECT_EQ(got[5]->type, redis_value::kind::nil);
}

TEST(RedisReader, RefusesHostileReplies) {
  {
    redis_reader r;
    r.feed("*2147483647\r\n");  // 2^31 elements declared: not allocated
    EXPECT_EQ(r.next(), nullptr);
    EXPECT_FALSE(r.error().empty());
  }
  {
    redis_reader r;
    r.feed("?garbage\r\n");
    EXPECT_EQ(r.next(), nullptr);
    EXPECT_FALSE(r.error().empty());
  }
  {
    redis_reader r;  // nesting deeper than hiredis supports
    r.feed("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n");
    EXPECT_EQ(r.next(), nullptr);
    EXPECT_FALSE(r.error().empty());
  }
  {
    redis_reader r(1024);  // an incomplete reply past the buffer bound
    EXPECT_TRUE(r.feed("$100000\r\n"));
    EXPECT_FALSE(r.feed(std::string(2000, 'x')));
    EXPECT_FALSE(r.error().empty());
  }
}

TEST(RedisCommand, BinarySafeArguments) {
  std::string payload("a\0b\r\n", 5);
  EXPECT_EQ(format_command({"PUBLISH", "ch", payload}),
            std::string("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\na\0b\r\n\r\n", 36));
}

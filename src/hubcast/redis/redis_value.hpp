// One RESP2 reply, parsed by hiredis's reader into our own tree (redis_reader).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hubcast::redis {

struct redis_value {
  enum class kind : std::uint8_t { string, array, integer, nil, status, error };
  kind type = kind::nil;
  std::string str;  // string, status, error
  long long integer = 0;
  std::vector<redis_value> elements;
  bool root = false;  // owned by the reader's caller (the tree's top)

  bool is_error() const { return type == kind::error; }
  bool is_array(std::size_t min_size = 0) const {
    return type == kind::array && elements.size() >= min_size;
  }
  bool is_string(std::string_view s) const { return type == kind::string && str == s; }
};

// RESP2 replies out of a byte stream (hiredis's redisReader, our reply objects): bounded
// nesting (hiredis: 9), arrays of at most 2^20 elements, at most `max_buffered` bytes of an
// incomplete reply; over those, or on bytes that are not RESP, an error.
class redis_reader {
 public:
  explicit redis_reader(std::size_t max_buffered = 64 * 1024 * 1024);
  ~redis_reader();
  redis_reader(const redis_reader&) = delete;
  redis_reader& operator=(const redis_reader&) = delete;

  // False on a protocol error (error() says which).
  bool feed(std::string_view bytes);
  // The next complete reply; nullptr when more bytes are needed or after an error.
  std::unique_ptr<redis_value> next();
  const std::string& error() const { return error_; }

 private:
  void* reader_;
  std::size_t max_buffered_;
  std::string error_;
};

// A command as RESP (hiredis's redisFormatCommandArgv): every argument binary-safe.
std::string format_command(const std::vector<std::string_view>& argv);

}  // namespace hubcast::redis

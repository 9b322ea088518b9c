#include <hubcast/redis/redis_value.hpp>

#include <hiredis/hiredis.h>

#include <limits>
#include <stdexcept>

namespace hubcast::redis {

namespace {

// hiredis allocates an array at the size the peer declares: refused above this many.
constexpr std::size_t max_elements = 1 << 20;

// Where a new value goes: a new root, or its slot in the parent array.
redis_value* place(const redisReadTask* task) {
  if (task->parent && task->parent->obj) {
    auto* parent = static_cast<redis_value*>(task->parent->obj);
    auto idx = static_cast<std::size_t>(task->idx);
    if (idx >= parent->elements.size()) return nullptr;
    return &parent->elements[idx];
  }
  auto* v = new redis_value;
  v->root = true;
  return v;
}

void* create_string(const redisReadTask* task, char* s, size_t len) {
  auto* v = place(task);
  if (!v) return nullptr;
  v->type = task->type == REDIS_REPLY_ERROR    ? redis_value::kind::error
            : task->type == REDIS_REPLY_STATUS ? redis_value::kind::status
                                               : redis_value::kind::string;
  v->str.assign(s, len);
  return v;
}

void* create_array(const redisReadTask* task, int elements) {
  if (elements < 0 || static_cast<std::size_t>(elements) > max_elements) return nullptr;
  auto* v = place(task);
  if (!v) return nullptr;
  v->type = redis_value::kind::array;
  v->elements.resize(static_cast<std::size_t>(elements));
  return v;
}

void* create_integer(const redisReadTask* task, long long value) {
  auto* v = place(task);
  if (!v) return nullptr;
  v->type = redis_value::kind::integer;
  v->integer = value;
  return v;
}

void* create_nil(const redisReadTask* task) {
  auto* v = place(task);
  if (!v) return nullptr;
  v->type = redis_value::kind::nil;
  return v;
}

void free_object(void* p) {
  auto* v = static_cast<redis_value*>(p);
  if (v && v->root) delete v;
}

redisReplyObjectFunctions functions = {create_string, create_array, create_integer, create_nil,
                                       free_object};

}  // namespace

redis_reader::redis_reader(std::size_t max_buffered)
    : reader_(redisReaderCreateWithFunctions(&functions)), max_buffered_(max_buffered) {
  if (!reader_) throw std::bad_alloc();
}

redis_reader::~redis_reader() {
  redisReaderFree(static_cast<redisReader*>(reader_));
}

bool redis_reader::feed(std::string_view bytes) {
  if (!error_.empty()) return false;
  auto* r = static_cast<redisReader*>(reader_);
  if (r->len - r->pos + bytes.size() > max_buffered_) {
    error_ = "a reply larger than " + std::to_string(max_buffered_) + " bytes";
    return false;
  }
  if (redisReaderFeed(r, bytes.data(), bytes.size()) != REDIS_OK) {
    error_ = redisReaderGetError(r);
    return false;
  }
  return true;
}

std::unique_ptr<redis_value> redis_reader::next() {
  if (!error_.empty()) return nullptr;
  auto* r = static_cast<redisReader*>(reader_);
  void* reply = nullptr;
  if (redisReaderGetReply(r, &reply) != REDIS_OK) {
    error_ = r->err == REDIS_ERR_OOM ? "a reply with too many elements" : redisReaderGetError(r);
    if (error_.empty()) error_ = "a protocol error";
    return nullptr;
  }
  return std::unique_ptr<redis_value>(static_cast<redis_value*>(reply));
}

std::string format_command(const std::vector<std::string_view>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (auto a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  if (n < 0 || !cmd) throw std::bad_alloc();
  std::string out(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
  return out;
}

}  // namespace hubcast::redis

#include <hubcast/hubs/streams.hpp>

#include <cxxabi.h>

namespace hubcast {

std::string describe_exception(const std::exception& e) {
  if (auto t = dynamic_cast<const typed_exception*>(&e)) return t->type_name() + ": " + e.what();
  if (dynamic_cast<const hub_exception*>(&e)) return std::string("HubException: ") + e.what();
  int status = 0;
  const char* mangled = typeid(e).name();
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return name + ": " + e.what();
}

namespace detail {

namespace asio = boost::asio;

upload_channel::upload_channel(asio::any_io_executor ex, std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity), readable_(ex), writable_(ex) {}

asio::awaitable<std::optional<protocol::raw_value>> upload_channel::async_next() {
  co_await readable_.async_wait_until([this] { return !items_.empty() || completed_; });
  if (items_.empty()) {
    if (error_) throw hub_exception(*error_);
    co_return std::nullopt;
  }
  auto v = std::move(items_.front());
  items_.pop_front();
  writable_.notify_all();
  co_return std::optional<protocol::raw_value>(std::move(v));
}

asio::awaitable<void> upload_channel::async_wait_space() {
  co_await writable_.async_wait_until([this] { return !full() || completed_; });
}

void upload_channel::push(protocol::raw_value v) {
  if (completed_) return;
  items_.push_back(std::move(v));
  readable_.notify_all();
}

void upload_channel::complete(std::optional<std::string> error) {
  if (completed_) return;
  completed_ = true;
  error_ = std::move(error);
  readable_.notify_all();
  writable_.notify_all();
}

}  // namespace detail
}  // namespace hubcast

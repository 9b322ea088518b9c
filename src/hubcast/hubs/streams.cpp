#include <hubcast/hubs/streams.hpp>

#include <cxxabi.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

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
    : capacity_(capacity == 0 ? 1 : capacity),
      readable_(ex, asio::steady_timer::time_point::max()),
      writable_(ex, asio::steady_timer::time_point::max()) {}

asio::awaitable<std::optional<protocol::raw_value>> upload_channel::async_next() {
  while (items_.empty()) {
    if (completed_) {
      if (error_) throw hub_exception(*error_);
      co_return std::nullopt;
    }
    readable_.expires_at(asio::steady_timer::time_point::max());
    co_await readable_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  auto v = std::move(items_.front());
  items_.pop_front();
  writable_.cancel();
  co_return std::optional<protocol::raw_value>(std::move(v));
}

asio::awaitable<void> upload_channel::async_wait_space() {
  while (full() && !completed_) {
    writable_.expires_at(asio::steady_timer::time_point::max());
    co_await writable_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void upload_channel::push(protocol::raw_value v) {
  if (completed_) return;
  items_.push_back(std::move(v));
  readable_.cancel();
}

void upload_channel::complete(std::optional<std::string> error) {
  if (completed_) return;
  completed_ = true;
  error_ = std::move(error);
  readable_.cancel();
  writable_.cancel();
}

}  // namespace detail
}  // namespace hubcast

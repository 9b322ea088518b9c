// hubcast's C++ SignalR client: the official clients' feature set (negotiate with redirects,
// WebSockets with long-polling fallback, JSON and MessagePack, invoke/send/stream/upload,
// client results, automatic and stateful reconnect, keep-alive and server timeout) as an
// awaitable API on one Asio executor.
//
// Threading: a connection lives on the executor it was made with; call it from coroutines (or
// handlers) running there, e.g. one io_context run by one thread. `blocking_hub_connection`
// (<hubcast/client/blocking.hpp>) wraps this for plain programs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <hubcast/protocol/hub_protocol.hpp>
#include <hubcast/protocol/payload.hpp>
#include <hubcast/protocol/raw_value.hpp>
#include <hubcast/protocol/value_codec.hpp>

namespace hubcast::client {

namespace asio = boost::asio;
using duration = std::chrono::milliseconds;

// Bit flags, as HttpTransportType.
enum transport_type : unsigned {
  websockets = 1,
  server_sent_events = 2,  // not implemented by this client: skipped in negotiate responses
  long_polling = 4,
};

enum class connection_state { disconnected, connecting, connected, reconnecting, disconnecting };
const char* to_string(connection_state s);

// The server reported an error for an invocation or a stream (HubException on the server).
class hub_exception : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The connection failed: negotiate, transport, handshake, timeouts, closed while waiting.
class connection_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct retry_context {
  std::size_t previous_retry_count = 0;
  duration elapsed{0};
  std::string retry_reason;
};
// Returns the delay before the next attempt, or nothing to give up.
using reconnect_policy = std::function<std::optional<duration>(const retry_context&)>;
// The official clients' default: 0, 2, 10 and 30 seconds, then give up.
reconnect_policy default_reconnect_policy(std::vector<duration> delays = {
                                              duration{0}, duration{2000}, duration{10000},
                                              duration{30000}});

using access_token_provider = std::function<asio::awaitable<std::string>()>;

// Authentication refresh without reconnecting (ASP.NET Core 11; the official clients'
// withAuthenticationRefresh): when negotiate names the token's lifetime, the connection asks the
// access-token provider for a new token `refresh_before_expiration` before the end (at half the
// lifetime when it is shorter than twice that) and hands it to the server (POST {hub}/refresh).
struct authentication_refresh_options {
  bool enable_auto_refresh = true;
  duration refresh_before_expiration{300000};
};
// The new token's lifetime, when the server named one.
using authentication_refreshed_handler =
    std::function<void(std::optional<std::chrono::seconds> new_lifetime)>;
using authentication_refresh_failed_handler = std::function<void(const std::string& error)>;
using closed_handler = std::function<void(std::optional<std::string> error)>;
using reconnected_handler = std::function<void(std::optional<std::string> connection_id)>;

struct connection_options {
  std::string url;
  access_token_provider access_token;  // called before negotiate and each transport connect
  protocol::header_map headers;
  protocol::protocol_id protocol = protocol::protocol_id::json;
  unsigned transports = websockets | long_polling;
  bool skip_negotiation = false;  // WebSockets only
  bool stateful_reconnect = false;
  reconnect_policy reconnect;  // empty: no automatic reconnect
  duration keep_alive_interval{15000};
  duration server_timeout{30000};
  duration handshake_timeout{15000};
  duration http_timeout{100000};  // negotiate, POST, DELETE and each long poll
  bool verify_tls_peer = true;
  std::string ca_file;  // PEM; default: the system's trust store
  encode_options encoding;
  std::function<void(std::string_view)> log;  // diagnostics (never tokens); empty: silent
  std::optional<authentication_refresh_options> authentication_refresh;  // none: off
};

class hub_connection;

namespace detail {
class connection_core;
struct invocation_state;
struct upload_state {
  std::weak_ptr<connection_core> core;
  std::string id;  // assigned when passed to an invocation
  bool completed = false;
};
struct handler_result {
  bool has_value = false;
  protocol::payload value;
};
using handler_fn =
    std::function<asio::awaitable<handler_result>(std::vector<protocol::raw_value> args)>;

enum class call_kind { invoke, send, stream };
std::shared_ptr<invocation_state> start_call(const std::shared_ptr<connection_core>& core,
                                             call_kind kind, std::string method,
                                             protocol::payload args,
                                             std::vector<std::shared_ptr<upload_state>> uploads);
asio::awaitable<protocol::raw_value> await_result(std::shared_ptr<invocation_state> s);
asio::awaitable<std::optional<protocol::raw_value>> next_item(std::shared_ptr<invocation_state> s);
void cancel_stream(const std::shared_ptr<invocation_state>& s);
void upload_write(const std::shared_ptr<upload_state>& u, protocol::payload item);
void upload_complete(const std::shared_ptr<upload_state>& u, std::optional<std::string> error);
void add_handler(connection_core& core, std::string method, handler_fn fn);
asio::awaitable<void> ready();  // completes at once

template <class T>
struct is_awaitable : std::false_type {};
template <class T>
struct is_awaitable<asio::awaitable<T>> : std::true_type {
  using value_type = T;
};

template <class F>
struct callable_traits : callable_traits<decltype(&F::operator())> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class R, class C, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {};

template <class Args, std::size_t... I>
Args bind_args(const std::vector<protocol::raw_value>& raw, std::index_sequence<I...>) {
  return Args{hubcast::from_raw<std::tuple_element_t<I, Args>>(raw[I])...};
}

// Runs a typed handler; F is held by value in this coroutine's frame.
template <class F>
asio::awaitable<handler_result> call_handler(F f, std::vector<protocol::raw_value> raw) {
  using traits = callable_traits<F>;
  using args_t = typename traits::args;
  using R = typename traits::result;
  constexpr std::size_t n = std::tuple_size_v<args_t>;
  if (raw.size() != n)
    throw std::invalid_argument("expected " + std::to_string(n) + " argument(s), got " +
                                std::to_string(raw.size()));
  args_t args = bind_args<args_t>(raw, std::make_index_sequence<n>{});
  handler_result out;
  if constexpr (std::is_void_v<R>) {
    std::apply(f, std::move(args));
  } else if constexpr (is_awaitable<R>::value) {
    using V = typename is_awaitable<R>::value_type;
    auto pending = std::apply(f, std::move(args));
    if constexpr (std::is_void_v<V>) {
      co_await std::move(pending);
    } else {
      V v = co_await std::move(pending);
      out.has_value = true;
      out.value = protocol::payload::of(std::move(v));
    }
  } else {
    R v = std::apply(f, std::move(args));
    out.has_value = true;
    out.value = protocol::payload::of(std::move(v));
  }
  co_return out;
}

template <class R>
asio::awaitable<R> typed_result(std::shared_ptr<invocation_state> s) {
  protocol::raw_value raw = co_await await_result(std::move(s));
  if constexpr (std::is_void_v<R>)
    co_return;
  else
    co_return hubcast::from_raw<R>(raw);
}

template <class T>
struct is_upload : std::false_type {};
}  // namespace detail

// A client-to-server stream: pass it as an argument of invoke/send/stream, then write items
// and complete it. Items written before the call is made are refused.
template <class T>
class upload_stream {
 public:
  upload_stream() : state_(std::make_shared<detail::upload_state>()) {}
  // Queues the item at once (not a coroutine: no argument lives in a coroutine frame).
  asio::awaitable<void> write(T item) {
    detail::upload_write(state_, protocol::payload::of(std::move(item)));
    return detail::ready();
  }
  // Ends the stream; with an error, the server method sees it as a HubException.
  asio::awaitable<void> complete(std::optional<std::string> error = std::nullopt) {
    detail::upload_complete(state_, std::move(error));
    return detail::ready();
  }
  const std::shared_ptr<detail::upload_state>& state() const { return state_; }

 private:
  std::shared_ptr<detail::upload_state> state_;
};

namespace detail {
template <class T>
struct is_upload<upload_stream<T>> : std::true_type {};

template <class A>
auto value_part(A&& a) {
  if constexpr (is_upload<std::decay_t<A>>::value)
    return std::tuple<>();
  else
    return std::tuple<std::decay_t<A>>(std::forward<A>(a));
}
template <class A>
void upload_part(std::vector<std::shared_ptr<upload_state>>& out, const A& a) {
  if constexpr (is_upload<std::decay_t<A>>::value) out.push_back(a.state());
}
template <class... A>
std::pair<protocol::payload, std::vector<std::shared_ptr<upload_state>>> split_args(A&&... a) {
  std::vector<std::shared_ptr<upload_state>> uploads;
  (upload_part(uploads, a), ...);
  auto values = std::tuple_cat(value_part(std::forward<A>(a))...);
  return {protocol::payload::of(std::move(values)), std::move(uploads)};
}
}  // namespace detail

// A server-to-client stream as an async range: `while (auto item = co_await s.next())`.
// Destroying an unfinished reader cancels the stream on the server (CancelInvocation).
template <class T>
class stream_reader {
 public:
  explicit stream_reader(std::shared_ptr<detail::invocation_state> s) : state_(std::move(s)) {}
  stream_reader(stream_reader&&) noexcept = default;
  stream_reader& operator=(stream_reader&& o) noexcept {
    if (this != &o) {
      release();
      state_ = std::move(o.state_);
    }
    return *this;
  }
  ~stream_reader() { release(); }

  // The next item, or nothing when the stream ended; throws hub_exception on a server error
  // and connection_error when the connection closed.
  asio::awaitable<std::optional<T>> next() {
    std::optional<protocol::raw_value> raw = co_await detail::next_item(state_);
    if (!raw) co_return std::nullopt;
    co_return std::optional<T>(hubcast::from_raw<T>(*raw));
  }
  // Cancels the stream on the server; next() then returns nothing.
  void cancel() {
    if (state_) detail::cancel_stream(state_);
  }

 private:
  void release() {
    if (state_) detail::cancel_stream(state_);
    state_.reset();
  }
  std::shared_ptr<detail::invocation_state> state_;
};

class hub_connection {
 public:
  hub_connection(asio::any_io_executor ex, connection_options options);
  ~hub_connection();
  hub_connection(const hub_connection&) = delete;
  hub_connection& operator=(const hub_connection&) = delete;

  // Negotiates, connects a transport and handshakes. Throws connection_error.
  asio::awaitable<void> start();
  // Sends Close, closes the transport and ends reconnect attempts; on_closed runs without error.
  asio::awaitable<void> stop();

  connection_state state() const;
  std::optional<std::string> connection_id() const;
  // The transport in use: "WebSockets" or "LongPolling" (empty when disconnected).
  std::string transport_name() const;

  // The call is sent at once; the awaitable yields the result (throws hub_exception).
  template <class R = void, class... A>
  asio::awaitable<R> invoke(std::string method, A&&... args) {
    auto [payload, uploads] = detail::split_args(std::forward<A>(args)...);
    auto s = detail::start_call(core_, detail::call_kind::invoke, std::move(method),
                                std::move(payload), std::move(uploads));
    return detail::typed_result<R>(std::move(s));
  }
  // Fire-and-forget (no invocation id, the server sends no answer, not even errors).
  template <class... A>
  asio::awaitable<void> send(std::string method, A&&... args) {
    auto [payload, uploads] = detail::split_args(std::forward<A>(args)...);
    auto s = detail::start_call(core_, detail::call_kind::send, std::move(method),
                                std::move(payload), std::move(uploads));
    return detail::typed_result<void>(std::move(s));
  }
  template <class T, class... A>
  stream_reader<T> stream(std::string method, A&&... args) {
    auto [payload, uploads] = detail::split_args(std::forward<A>(args)...);
    return stream_reader<T>(detail::start_call(core_, detail::call_kind::stream, std::move(method),
                                               std::move(payload), std::move(uploads)));
  }

  // Registers a handler for a client method (matched case-insensitively). Its parameters are
  // bound from the arguments; a return value (or awaitable<R>) answers client-result calls.
  template <class F>
  void on(std::string method, F handler) {
    detail::handler_fn fn = [handler](std::vector<protocol::raw_value> args) {
      return detail::call_handler(handler, std::move(args));
    };
    detail::add_handler(*core_, std::move(method), std::move(fn));
  }
  void remove(const std::string& method);

  void on_closed(closed_handler h);
  void on_reconnecting(closed_handler h);
  void on_reconnected(reconnected_handler h);

  // Hands a new token from the access-token provider to the server now (with
  // authentication refresh configured): the new lifetime, if named. Throws connection_error
  // when not connected or refused (on_authentication_refresh_failed handlers run too).
  asio::awaitable<std::optional<std::chrono::seconds>> refresh_authentication();
  void on_authentication_refreshed(authentication_refreshed_handler h);
  void on_authentication_refresh_failed(authentication_refresh_failed_handler h);

 private:
  std::shared_ptr<detail::connection_core> core_;
};

// A builder in the official clients' style.
class hub_connection_builder {
 public:
  hub_connection_builder& with_url(std::string url,
                                   unsigned transports = websockets | long_polling) {
    o_.url = std::move(url);
    o_.transports = transports;
    return *this;
  }
  hub_connection_builder& with_access_token_provider(access_token_provider p) {
    o_.access_token = std::move(p);
    return *this;
  }
  hub_connection_builder& with_automatic_reconnect(
      reconnect_policy p = default_reconnect_policy()) {
    o_.reconnect = std::move(p);
    return *this;
  }
  hub_connection_builder& with_automatic_reconnect(std::vector<duration> delays) {
    o_.reconnect = default_reconnect_policy(std::move(delays));
    return *this;
  }
  hub_connection_builder& with_hub_protocol(protocol::protocol_id p) {
    o_.protocol = p;
    return *this;
  }
  hub_connection_builder& with_authentication_refresh(authentication_refresh_options o = {}) {
    o_.authentication_refresh = o;
    return *this;
  }
  hub_connection_builder& with_stateful_reconnect(bool on = true) {
    o_.stateful_reconnect = on;
    return *this;
  }
  hub_connection_builder& skip_negotiation(bool on = true) {
    o_.skip_negotiation = on;
    return *this;
  }
  hub_connection_builder& with_header(std::string name, std::string value) {
    o_.headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  hub_connection_builder& with_keep_alive_interval(duration d) {
    o_.keep_alive_interval = d;
    return *this;
  }
  hub_connection_builder& with_server_timeout(duration d) {
    o_.server_timeout = d;
    return *this;
  }
  hub_connection_builder& with_tls(bool verify_peer, std::string ca_file = {}) {
    o_.verify_tls_peer = verify_peer;
    o_.ca_file = std::move(ca_file);
    return *this;
  }
  hub_connection_builder& with_logging(std::function<void(std::string_view)> log) {
    o_.log = std::move(log);
    return *this;
  }
  connection_options& options() { return o_; }
  std::unique_ptr<hub_connection> build(asio::any_io_executor ex) const {
    return std::make_unique<hub_connection>(std::move(ex), o_);
  }

 private:
  connection_options o_;
};

}  // namespace hubcast::client

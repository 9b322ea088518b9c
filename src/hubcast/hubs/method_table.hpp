// Typed hub method registration: parameter and return types come from the member function
// pointer, values are bound with the value codec. Included by hub authors only (apps), so the
// template cost stays in their translation units.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <hubcast/hubs/cancellation.hpp>
#include <hubcast/hubs/hub.hpp>
#include <hubcast/hubs/streams.hpp>
#include <hubcast/protocol/payload.hpp>
#include <hubcast/protocol/raw_value.hpp>

namespace hubcast {

namespace detail {

struct invocation_outcome {
  enum class kind { none, value, stream } k = kind::none;
  protocol::payload value;
  std::function<boost::asio::awaitable<void>(std::shared_ptr<stream_sink>)> producer;
};

using bound_call = std::function<boost::asio::awaitable<invocation_outcome>(hub&)>;
using upload_list = std::vector<std::shared_ptr<upload_channel>>;

// Arguments could not be bound; what() is the detail DetailedErrors appends.
class binding_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct method_descriptor {
  std::string name;
  bool streaming = false;
  std::size_t arg_count = 0;          // values in `arguments`
  std::size_t stream_count = 0;       // stream_reader<T> parameters (`streamIds`)
  bool takes_cancellation = false;    // a cancellation_token parameter
  std::vector<std::string> policies;  // authorization requirements (names), checked by the app
  // `cancel`: what a cancellation_token parameter is bound to.
  std::function<bound_call(std::vector<protocol::raw_value>&, upload_list&,
                           const cancellation_token& cancel)>
      bind;
};

template <class T>
struct awaitable_traits : std::false_type {};
template <class T>
struct awaitable_traits<boost::asio::awaitable<T>> : std::true_type {
  using type = T;
};
template <class T>
struct async_stream_traits : std::false_type {};
template <class T>
struct async_stream_traits<async_stream<T>> : std::true_type {
  using type = T;
};
template <class T>
struct stream_reader_traits : std::false_type {};
template <class T>
struct stream_reader_traits<stream_reader<T>> : std::true_type {};

// What a parameter is bound from.
enum class param_kind { argument, stream, cancellation };

template <class T>
constexpr param_kind kind_of() {
  if constexpr (stream_reader_traits<std::decay_t<T>>::value)
    return param_kind::stream;
  else if constexpr (std::is_same_v<std::decay_t<T>, cancellation_token>)
    return param_kind::cancellation;
  else
    return param_kind::argument;
}

template <class... Args>
constexpr std::array<param_kind, sizeof...(Args) + 1> param_kinds() {
  return {kind_of<Args>()..., param_kind::argument};
}

template <class... Args>
constexpr std::size_t count_of(param_kind k) {
  constexpr auto kinds = param_kinds<Args...>();
  std::size_t n = 0;
  for (std::size_t i = 0; i < sizeof...(Args); ++i)
    if (kinds[i] == k) ++n;
  return n;
}

// The index among the parameters of the same kind.
template <class... Args>
constexpr std::size_t position_of(std::size_t index, param_kind k) {
  constexpr auto kinds = param_kinds<Args...>();
  std::size_t n = 0;
  for (std::size_t i = 0; i < index; ++i)
    if (kinds[i] == k) ++n;
  return n;
}

template <class T, std::size_t ArgPos, std::size_t StreamPos>
T bind_one(std::vector<protocol::raw_value>& args, upload_list& uploads,
           const cancellation_token& cancel) {
  if constexpr (kind_of<T>() == param_kind::stream) {
    return T(uploads[StreamPos]);
  } else if constexpr (kind_of<T>() == param_kind::cancellation) {
    return cancel;
  } else {
    try {
      return from_raw<T>(args[ArgPos]);
    } catch (const binding_error&) {
      // The MessagePack reader names the argument (1-based), as the reference server does.
      if (args[ArgPos].is_msgpack())
        throw binding_failure("InvalidDataException: Error binding argument " +
                              std::to_string(ArgPos + 1) +
                              ". Make sure that the types of the provided values match the types "
                              "of the hub method being invoked.");
      throw;
    }
  }
}

template <class... Args, std::size_t... I>
std::tuple<std::decay_t<Args>...> bind_all(std::vector<protocol::raw_value>& args,
                                           upload_list& uploads, const cancellation_token& cancel,
                                           std::index_sequence<I...>) {
  return std::tuple<std::decay_t<Args>...>{
      bind_one<std::decay_t<Args>, position_of<Args...>(I, param_kind::argument),
               position_of<Args...>(I, param_kind::stream)>(args, uploads, cancel)...};
}

template <class R>
invocation_outcome outcome_from(R&& r) {
  using U = std::decay_t<R>;
  invocation_outcome o;
  if constexpr (async_stream_traits<U>::value) {
    using T = typename async_stream_traits<U>::type;
    o.k = invocation_outcome::kind::stream;
    o.producer = [s = std::forward<R>(r)](std::shared_ptr<stream_sink> sink) {
      return s.producer()(stream_writer<T>(std::move(sink)));
    };
  } else {
    o.k = invocation_outcome::kind::value;
    o.value = protocol::payload::of(std::forward<R>(r));
  }
  return o;
}

template <class Hub, class Fn, class Tuple>
boost::asio::awaitable<invocation_outcome> run_call(Hub& h, Fn fn, Tuple args) {
  using R = decltype(std::apply([&](auto&... a) { return (h.*fn)(std::move(a)...); }, args));
  if constexpr (std::is_void_v<R>) {
    std::apply([&](auto&... a) { (h.*fn)(std::move(a)...); }, args);
    co_return invocation_outcome{};
  } else if constexpr (awaitable_traits<R>::value) {
    using T = typename awaitable_traits<R>::type;
    auto aw = std::apply([&](auto&... a) { return (h.*fn)(std::move(a)...); }, args);
    if constexpr (std::is_void_v<T>) {
      co_await std::move(aw);
      co_return invocation_outcome{};
    } else {
      auto value = co_await std::move(aw);
      co_return outcome_from(std::move(value));
    }
  } else {
    auto value = std::apply([&](auto&... a) { return (h.*fn)(std::move(a)...); }, args);
    co_return outcome_from(std::move(value));
  }
}

template <class R>
constexpr bool returns_stream() {
  if constexpr (awaitable_traits<R>::value)
    return async_stream_traits<typename awaitable_traits<R>::type>::value;
  else
    return async_stream_traits<R>::value;
}

template <class Hub, class Fn, class R, class... Args>
method_descriptor make_method(std::string name, Fn fn) {
  static_assert(count_of<Args...>(param_kind::cancellation) <= 1,
                "a hub method takes at most one cancellation_token");
  method_descriptor d;
  d.name = std::move(name);
  d.streaming = returns_stream<R>();
  d.stream_count = count_of<Args...>(param_kind::stream);
  d.arg_count = count_of<Args...>(param_kind::argument);
  d.takes_cancellation = count_of<Args...>(param_kind::cancellation) == 1;
  d.bind = [fn](std::vector<protocol::raw_value>& args, upload_list& uploads,
                const cancellation_token& cancel) -> bound_call {
    std::tuple<std::decay_t<Args>...> bound;
    try {
      bound = bind_all<Args...>(args, uploads, cancel, std::index_sequence_for<Args...>{});
    } catch (const binding_error&) {
      throw binding_failure(
          "InvalidDataException: Error binding arguments. Make sure that the types of the "
          "provided values match the types of the hub method being invoked.");
    }
    return [fn, bound = std::move(bound)](hub& h) mutable {
      return run_call(static_cast<Hub&>(h), fn, std::move(bound));
    };
  };
  return d;
}

}  // namespace detail

// The methods of one hub type, registered by name (lookup is case-insensitive).
template <class Hub>
class hub_methods {
 public:
  template <class R, class... Args>
  hub_methods& add(std::string name, R (Hub::*fn)(Args...)) {
    methods_.push_back(detail::make_method<Hub, decltype(fn), R, Args...>(std::move(name), fn));
    return *this;
  }
  template <class R, class... Args>
  hub_methods& add(std::string name, R (Hub::*fn)(Args...) const) {
    methods_.push_back(detail::make_method<Hub, decltype(fn), R, Args...>(std::move(name), fn));
    return *this;
  }
  // Authorization requirement names for the method registered last (see server::add_policy).
  hub_methods& require(std::string policy) {
    methods_.back().policies.push_back(std::move(policy));
    return *this;
  }

  std::vector<detail::method_descriptor>& list() { return methods_; }

 private:
  std::vector<detail::method_descriptor> methods_;
};

}  // namespace hubcast

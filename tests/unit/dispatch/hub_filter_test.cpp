// Hub filters: order, what they see, short-circuits, errors, lifetime hooks.
#include <hubcast/hubs/hub_filter.hpp>

#include <gtest/gtest.h>

#include "dispatch_harness.hpp"

using namespace unit;

namespace {

// Records what it sees into a shared log: "name>Method" before, "<name" after.
class recording_filter : public hub_filter {
 public:
  recording_filter(std::string name, std::shared_ptr<std::vector<std::string>> log)
      : name_(std::move(name)), log_(std::move(log)) {}

  asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                   next_invocation next) override {
    log_->push_back(name_ + ">" + ctx.method_name() + (ctx.streaming() ? "(stream)" : "") + "@" +
                    std::string(ctx.hub_name()));
    auto result = co_await next(ctx);
    log_->push_back("<" + name_);
    co_return result;
  }
  asio::awaitable<void> on_connected(hub_lifetime_context& ctx, next_connected next) override {
    log_->push_back(name_ + ":connected " + ctx.context().transport_name().data());
    co_await next(ctx);
  }
  asio::awaitable<void> on_disconnected(hub_lifetime_context& ctx,
                                        const std::optional<std::string>& error,
                                        next_disconnected next) override {
    log_->push_back(name_ + ":disconnected " + error.value_or("-"));
    co_await next(ctx, error);
  }

 private:
  std::string name_;
  std::shared_ptr<std::vector<std::string>> log_;
};

// Answers "Echo" itself, refuses "Nothing", fails "Add" with a hub_exception.
class gate_filter : public hub_filter {
 public:
  asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                   next_invocation next) override {
    if (ctx.method_name() == "Echo") {
      invocation_result r;
      r.k = invocation_result::kind::value;
      r.value = protocol::payload::of(std::string("from the filter"));
      co_return r;
    }
    if (ctx.method_name() == "Nothing") throw unauthorized_invocation();
    if (ctx.method_name() == "Add") throw hub_exception("Too many calls.");
    co_return co_await next(ctx);
  }
};

class refuse_connection : public hub_filter {
 public:
  asio::awaitable<void> on_connected(hub_lifetime_context&, next_connected) override {
    throw hub_exception("Not today.");
    co_return;
  }
};

}  // namespace

TEST(HubFilter, RunInOrderAroundInvocationsAndLifetime) {
  auto log = std::make_shared<std::vector<std::string>>();
  {
    harness h({}, {std::make_shared<recording_filter>("a", log),
                   std::make_shared<recording_filter>("b", log)});
    auto c = h.connect();
    EXPECT_EQ(h.exchange(*c, hs), rec("{}"));
    EXPECT_EQ(
        h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"add","arguments":[2,3]})")),
        rec(R"({"type":3,"invocationId":"1","result":5})"));
    EXPECT_EQ(
        h.exchange(*c, rec(R"({"type":4,"invocationId":"2","target":"Count","arguments":[1]})")),
        rec(R"({"type":2,"invocationId":"2","item":0})") + rec(R"({"type":3,"invocationId":"2"})"));
    h.exchange(*c, rec(R"({"type":7})"));
    c->end_input();  // the transport ends after the Close
    h.pump();
  }
  EXPECT_EQ(*log, (std::vector<std::string>{"a:connected WebSockets", "b:connected WebSockets",
                                            "a>Add@/calc", "b>Add@/calc", "<b", "<a",
                                            "a>Count(stream)@/calc", "b>Count(stream)@/calc", "<b",
                                            "<a", "a:disconnected -", "b:disconnected -"}));
}

TEST(HubFilter, AnswerRefuseOrFailInsteadOfTheMethod) {
  harness h({}, {std::make_shared<gate_filter>()});
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"echo","arguments":["x"]})")),
      rec(R"({"type":3,"invocationId":"1","result":"from the filter"})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"2","target":"nothing","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"2","error":"Failed to invoke 'nothing' because user is unauthorized"})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"3","target":"Add","arguments":[1,2]})")),
      rec(R"({"type":3,"invocationId":"3","error":"An unexpected error occurred invoking 'Add' on the server. HubException: Too many calls."})"));
  // Method authorization runs before the app's filters: the filter never sees a refused call.
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"4","target":"Admin","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"4","error":"Failed to invoke 'Admin' because user is unauthorized"})"));
  // Everything else passes.
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"invocationId":"5","target":"Later","arguments":[]})")),
            rec(R"({"type":3,"invocationId":"5","result":7})"));
}

TEST(HubFilter, AStreamRefusedByAFilterEndsWithTheError) {
  class no_streams : public hub_filter {
    asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                     next_invocation next) override {
      if (ctx.streaming()) throw hub_exception("No streams.");
      return next(ctx);
    }
  };
  harness h({}, {std::make_shared<no_streams>()});
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":4,"invocationId":"1","target":"Count","arguments":[3]})")),
      rec(R"({"type":3,"invocationId":"1","error":"An unexpected error occurred invoking 'Count' on the server. HubException: No streams."})"));
}

TEST(HubFilter, AFailingOnConnectedClosesTheConnectionWithAnError) {
  harness h({}, {std::make_shared<refuse_connection>()});
  auto c = h.connect();
  EXPECT_EQ(
      h.exchange(*c, hs),
      rec("{}") +
          rec(R"({"type":7,"error":"Connection closed with an error. HubException: Not today."})"));
}

// HubMethodArguments: a filter reads the client's arguments (raw and bound), of invocations and
// streams alike; reading them changes nothing the method gets.
TEST(HubFilter, SeeTheInvocationsArguments) {
  class argument_filter : public hub_filter {
   public:
    std::vector<std::string> seen;
    asio::awaitable<invocation_result> invoke_method(hub_invocation_context& ctx,
                                                     next_invocation next) override {
      std::string line = ctx.method_name() + ":" + std::to_string(ctx.arguments().size());
      for (const auto& a : ctx.arguments())
        line += " " + boost::json::serialize(hubcast::to_json_value(a));
      seen.push_back(line);
      if (ctx.method_name() == "Add" && ctx.argument<int>(0) > 100)
        throw hub_exception("Too large.");
      EXPECT_THROW(ctx.argument<int>(ctx.arguments().size()), std::out_of_range);
      if (!ctx.arguments().empty()) {
        EXPECT_THROW(ctx.argument<std::vector<std::string>>(0), binding_error);
      }
      co_return co_await next(ctx);
    }
  };
  auto filter = std::make_shared<argument_filter>();
  harness h({}, {filter});
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"add","arguments":[2,3]})")),
      rec(R"({"type":3,"invocationId":"1","result":5})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"2","target":"Add","arguments":[200,3]})")),
      rec(R"({"type":3,"invocationId":"2","error":"An unexpected error occurred invoking 'Add' on the server. HubException: Too large."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":4,"invocationId":"3","target":"Count","arguments":[1]})")),
      rec(R"({"type":2,"invocationId":"3","item":0})") + rec(R"({"type":3,"invocationId":"3"})"));
  EXPECT_EQ(filter->seen, (std::vector<std::string>{"Add:2 2 3", "Add:2 200 3", "Count:1 1"}));
}

// Why the transport ended reaches OnDisconnectedAsync: nothing when the client closed (with or
// without the close handshake), the reason otherwise.
TEST(HubFilter, OnDisconnectedSeesWhyTheTransportEnded) {
  struct ending {
    boost::system::error_code reason;
    std::string seen;
  };
  const std::vector<ending> endings = {
      {hubcast::errc::connection_closed, "-"},
      {hubcast::errc::connection_closed_prematurely, "-"},
      {hubcast::errc::protocol_violation, "The client violated the WebSocket protocol."},
      {hubcast::errc::message_too_large, "The message exceeded the maximum message size."},
      {hubcast::errc::transport_failed, "The transport failed."},
  };
  for (const auto& e : endings) {
    auto log = std::make_shared<std::vector<std::string>>();
    {
      harness h({}, {std::make_shared<recording_filter>("a", log)});
      auto c = h.connect();
      h.exchange(*c, hs);
      c->end_input(e.reason);
      h.pump();
    }
    ASSERT_EQ(log->size(), 2u) << e.reason.message();
    EXPECT_EQ((*log)[1], "a:disconnected " + e.seen) << e.reason.message();
  }
  // The server's abort (an output overflow, a timeout) is not the client's close either.
  auto log = std::make_shared<std::vector<std::string>>();
  {
    harness h({}, {std::make_shared<recording_filter>("a", log)});
    auto c = h.connect();
    h.exchange(*c, hs);
    c->abort();
    h.pump();
  }
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[1], "a:disconnected The connection was aborted by the server.");
}

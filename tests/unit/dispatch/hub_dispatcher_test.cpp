// The dispatcher over an in-memory connection: no sockets, the exact bytes a client would see.
#include <hubcast/dispatch/hub_dispatcher.hpp>

#include <gtest/gtest.h>

#include "dispatch_harness.hpp"

using namespace unit;

TEST(HubDispatcher, HandshakeThenPipelinedInvocations) {
  harness h;
  auto c = h.connect();
  // The handshake and two invocations in one transport message (§13 item 3).
  auto out =
      h.exchange(*c, hs + rec(R"({"type":1,"invocationId":"1","target":"add","arguments":[2,3]})") +
                         rec(R"({"type":1,"invocationId":"2","target":"Nothing","arguments":[]})"));
  EXPECT_EQ(out, rec("{}") + rec(R"({"type":3,"invocationId":"1","result":5})") +
                     rec(R"({"type":3,"invocationId":"2","result":null})"));
}

TEST(HubDispatcher, HandshakeErrors) {
  harness h;
  auto c = h.connect();
  EXPECT_EQ(h.exchange(*c, rec(R"({"protocol":"xml","version":1})")),
            rec(R"({"error":"The protocol 'xml' is not supported."})"));
  EXPECT_TRUE(c->is_completed());
  auto c2 = h.connect();
  EXPECT_EQ(h.exchange(*c2, rec(R"({"protocol":"json","version":3})")),
            rec(R"({"error":"The server does not support version 3 of the 'json' protocol."})"));
  auto c3 = h.connect();
  EXPECT_EQ(h.exchange(*c3, rec(R"({"protocol":"json"})")),
            rec(R"({"error":"An unexpected error occurred during connection handshake."})"));
}

TEST(HubDispatcher, ErrorTexts) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"Missing","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"1","error":"Failed to invoke 'Missing' due to an error on the server. HubException: Method does not exist."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"2","target":"Add","arguments":[1]})")),
      rec(R"({"type":3,"invocationId":"2","error":"Failed to invoke 'Add' due to an error on the server."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"3","target":"Fail","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"3","error":"An unexpected error occurred invoking 'Fail' on the server."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"4","target":"FailHub","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"4","error":"An unexpected error occurred invoking 'FailHub' on the server. HubException: told you"})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"5","target":"Count","arguments":[1]})")),
      rec(R"({"type":3,"invocationId":"5","error":"The client attempted to invoke the streaming 'Count' method with a non-streaming invocation."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":4,"invocationId":"6","target":"Add","arguments":[1,2]})")),
      rec(R"({"type":3,"invocationId":"6","error":"The client attempted to invoke the non-streaming 'Add' method with a streaming invocation."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"7","target":"Concat","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"7","error":"An unexpected error occurred invoking 'Concat' on the server. HubException: Client sent 0 stream(s), Hub method expects 1."})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"8","target":"Admin","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"8","error":"Failed to invoke 'Admin' because user is unauthorized"})"));
  // Non-blocking invocations never get an answer, not even an error.
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"target":"Fail","arguments":[]})")), "");
}

TEST(HubDispatcher, DetailedErrorsAppendTypeAndMessage) {
  hub_options o;
  o.enable_detailed_errors = true;
  harness h(o);
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"Fail","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"1","error":"An unexpected error occurred invoking 'Fail' on the server. std::runtime_error: secret detail"})"));
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"2","target":"Add","arguments":[1]})")),
      rec(R"({"type":3,"invocationId":"2","error":"Failed to invoke 'Add' due to an error on the server. InvalidDataException: Invocation provides 1 argument(s) but target expects 2."})"));
}

TEST(HubDispatcher, StreamsBothWays) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":4,"invocationId":"1","target":"Count","arguments":[2]})")),
      rec(R"({"type":2,"invocationId":"1","item":0})") +
          rec(R"({"type":2,"invocationId":"1","item":1})") +
          rec(R"({"type":3,"invocationId":"1"})"));
  EXPECT_EQ(
      h.exchange(
          *c,
          rec(R"({"type":1,"invocationId":"2","target":"Concat","arguments":[],"streamIds":["1"]})") +
              rec(R"({"type":2,"invocationId":"1","item":"a"})") +
              rec(R"({"type":2,"invocationId":"1","item":"b"})") +
              rec(R"({"type":3,"invocationId":"1"})")),
      rec(R"({"type":3,"invocationId":"2","result":"ab"})"));
}

TEST(HubDispatcher, StructsOptionalsAndAwaitables) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(
          *c,
          rec(R"({"type":1,"invocationId":"1","target":"Move","arguments":[{"x":1,"y":2},null]})")),
      rec(R"({"type":3,"invocationId":"1","result":{"x":2,"y":2}})"));
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"invocationId":"2","target":"Later","arguments":[]})")),
            rec(R"({"type":3,"invocationId":"2","result":7})"));
}

TEST(HubDispatcher, CallerSendsArriveBeforeTheCompletion) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"Greet","arguments":["bob"]})")),
      rec(R"({"type":1,"target":"Hello","arguments":["bob"]})") +
          rec(R"({"type":3,"invocationId":"1","result":null})"));
}

TEST(HubDispatcher, GroupsAndBroadcastSerializeOnce) {
  harness h;
  auto a = h.connect();
  auto b = h.connect();
  h.exchange(*a, hs);
  h.exchange(*b, hs);
  auto out_a = h.exchange(*a, rec(R"({"type":1,"target":"JoinAndSend","arguments":["g"]})"));
  EXPECT_EQ(out_a, rec(R"({"type":1,"target":"InGroup","arguments":["g"]})"));
  std::string out_b;
  for (auto& x : b->take_output()) out_b += *x;
  EXPECT_EQ(out_b, "");
}

TEST(HubDispatcher, ProtocolErrorAndSizeLimitCloseWithAnError) {
  hub_options o;
  o.maximum_receive_message_size = 64;
  harness h(o);
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"Echo","arguments":[")" +
                               std::string(100, 'x') + "\"]}")),
            rec(R"({"type":7,"error":"Connection closed with an error.","allowReconnect":true})"));
  EXPECT_TRUE(c->is_completed());
  auto c2 = h.connect();
  h.exchange(*c2, hs);
  EXPECT_EQ(h.exchange(*c2, rec("{nope")),
            rec(R"({"type":7,"error":"Connection closed with an error.","allowReconnect":true})"));
}

TEST(HubDispatcher, ClientCloseGetsAPlainClose) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":7})")), rec(R"({"type":7})"));
  EXPECT_TRUE(c->is_completed());
}

TEST(HubDispatcher, ShutdownClosesOnceTheInvocationsInFlightHaveAnswered) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  // "Later" waits on a timer: in flight when the shutdown's close_all comes.
  c->push_input(rec(R"({"type":1,"invocationId":"1","target":"Later","arguments":[]})"), false);
  h.poll();
  h.lifetime().close_all(std::nullopt, true);
  h.pump();
  std::string out;
  for (auto& b : c->take_output()) out += *b;
  EXPECT_EQ(out, rec(R"({"type":3,"invocationId":"1","result":7})") +
                     rec(R"({"type":7,"allowReconnect":true})"));
  EXPECT_TRUE(c->is_completed());
  // An idle connection closes at once.
  auto idle = h.connect();
  h.exchange(*idle, hs);
  h.lifetime().close_all(std::nullopt, true);
  h.pump();
  out.clear();
  for (auto& b : idle->take_output()) out += *b;
  EXPECT_EQ(out, rec(R"({"type":7,"allowReconnect":true})"));
}

namespace {
std::shared_ptr<const auth::claims_principal> principal(std::string id, std::string role) {
  return std::make_shared<const auth::claims_principal>(
      std::vector<auth::claim>{{"sub", std::move(id)}, {"role", std::move(role)}}, true);
}
}  // namespace

TEST(HubDispatcher, AnAuthenticationRefreshReachesNewCallsNotRunningOnes) {
  harness h;
  auto c = h.connect(principal("alice", "Viewer"));
  h.exchange(*c, hs);
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"Admin","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"1","error":"Failed to invoke 'Admin' because user is unauthorized"})"));
  // A call waiting on a timer when the refresh lands keeps the principal it started with.
  c->push_input(rec(R"({"type":1,"invocationId":"2","target":"RolesLater","arguments":[]})"),
                false);
  h.poll();
  c->set_user(principal("alice", "Admin"), std::nullopt);
  c->notify(transport::connection::event::authentication_refreshed);
  h.pump();
  std::string out;
  for (auto& b : c->take_output()) out += *b;
  // The hub's callback runs after the call in progress (serialized with invocations).
  EXPECT_EQ(out, rec(R"({"type":3,"invocationId":"2","result":"Viewer"})") +
                     rec(R"({"type":1,"target":"Refreshed","arguments":["Admin"]})"));
  // Calls from now on see the new claims (roles included); the user id is not re-keyed.
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"invocationId":"3","target":"Admin","arguments":[]})")),
            rec(R"({"type":3,"invocationId":"3","result":1})"));
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"invocationId":"4","target":"Roles","arguments":[]})")),
            rec(R"({"type":3,"invocationId":"4","result":"Admin"})"));
  c->set_user(principal("mallory", "Admin"), std::nullopt);
  c->notify(transport::connection::event::authentication_refreshed);
  h.pump();
  c->take_output();
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":1,"invocationId":"5","target":"UserId","arguments":[]})")),
      rec(R"({"type":3,"invocationId":"5","result":"alice"})"));
}

TEST(HubDispatcher, NoRefreshCallbackBeforeConnectedOrAfterTheEnd) {
  harness h;
  auto c = h.connect(principal("alice", "Viewer"));
  // Before the handshake: the principal is replaced, no hub callback runs.
  c->set_user(principal("alice", "Admin"), std::nullopt);
  c->notify(transport::connection::event::authentication_refreshed);
  h.pump();
  EXPECT_EQ(h.exchange(*c, hs), "{}\x1e");
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":1,"invocationId":"1","target":"Roles","arguments":[]})")),
            rec(R"({"type":3,"invocationId":"1","result":"Admin"})"));
  h.exchange(*c, rec(R"({"type":7})"));
  c->end_input();
  h.pump();
  // The handler is gone: the connection no longer points at it.
  c->notify(transport::connection::event::authentication_refreshed);
  h.pump();
  EXPECT_TRUE(c->take_output().empty());
}

TEST(HubDispatcher, CancelInvocationReachesAnOrdinaryInvocationsToken) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  // One argument: the cancellation_token is not one of them.
  c->push_input(rec(R"({"type":1,"invocationId":"1","target":"UntilCancelled","arguments":["a"]})"),
                false);
  h.poll();
  EXPECT_TRUE(c->take_output().empty()) << "waits for its cancellation";
  // Queued behind it (one invocation at a time): cancelled before it starts.
  c->push_input(rec(R"({"type":1,"invocationId":"2","target":"UntilCancelled","arguments":["b"]})"),
                false);
  c->push_input(rec(R"({"type":5,"invocationId":"2"})"), false);
  h.poll();
  EXPECT_EQ(h.exchange(*c, rec(R"({"type":5,"invocationId":"1"})")),
            rec(R"({"type":3,"invocationId":"1","result":"a cancelled"})") +
                rec(R"({"type":3,"invocationId":"2","result":"b cancelled"})"));
  // A cancel for an id that is done, unknown, or a non-blocking method changes nothing.
  EXPECT_EQ(
      h.exchange(*c, rec(R"({"type":5,"invocationId":"1"})") +
                         rec(R"({"type":1,"invocationId":"3","target":"Add","arguments":[1,2]})")),
      rec(R"({"type":3,"invocationId":"3","result":3})"));
  EXPECT_EQ(
      h.exchange(*c,
                 rec(R"({"type":1,"invocationId":"4","target":"UntilCancelled","arguments":[1]})")),
      rec(R"({"type":3,"invocationId":"4","error":"Failed to invoke 'UntilCancelled' due to an error on the server."})"));
}

TEST(HubDispatcher, TheEndOfTheConnectionCancelsRunningInvocations) {
  harness h;
  auto c = h.connect();
  h.exchange(*c, hs);
  unit::calc_hub::last_outcome.clear();
  c->push_input(rec(R"({"type":1,"invocationId":"1","target":"UntilCancelled","arguments":["z"]})"),
                false);
  h.poll();
  EXPECT_EQ(unit::calc_hub::last_outcome, "");
  c->end_input();
  h.pump();
  EXPECT_EQ(unit::calc_hub::last_outcome, "z cancelled");
}

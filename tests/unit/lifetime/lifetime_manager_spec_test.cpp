// The lifetime-manager specification (ASP.NET Core's HubLifetimeManagerTestBase and
// ScaleoutHubLifetimeManagerTests): one set of tests, run against the default manager (one
// process) and the Redis manager (two nodes on a real redis-server that this test starts on a
// free loopback port, in a temporary folder). With Redis, "the other node" is another process's
// manager in all but the process; with the default manager both names are the same node.
// Connections are in-memory transports driven through the hub dispatcher, as the server does.
#include <hubcast/lifetime/default_hub_lifetime_manager.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <hubcast/core/shards.hpp>
#include <hubcast/dispatch/hub_dispatcher.hpp>
#include <hubcast/redis/redis_backplane.hpp>
#include <hubcast/redis/redis_hub_lifetime_manager.hpp>
#include <hubcast/session/hub_connection.hpp>
#include <hubcast/transport/connection_manager.hpp>
#include "../dispatch/test_hubs.hpp"

namespace {

using namespace hubcast;
namespace asio = boost::asio;
using namespace std::chrono_literals;

const std::string handshake = std::string("{\"protocol\":\"json\",\"version\":1}\x1e");

// A redis-server of the test's own, stopped at the end.
class redis_server {
 public:
  redis_server() {
    dir_ = std::filesystem::temp_directory_path() /
           ("hubcast-spec-redis-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    // The free port may be taken by someone else before redis-server binds it: then the child
    // exits (or another server answers there), and we try again on another port.
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (start()) return;
      stop();
    }
    throw std::runtime_error("redis-server did not start (is it installed?)");
  }
  ~redis_server() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string configuration() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;

  // Starts redis-server on a free port: true once the server answering there is our child.
  bool start() {
    port_ = free_port();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // not left behind by a test that dies
      auto port = std::to_string(port_);
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", dir_.c_str(), "--loglevel", "warning",
               static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // it exited: the port was taken
        pid_ = -1;
        return false;
      }
      if (auto answering = server_pid()) return *answering == pid_;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  static int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t n = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
    ::close(s);
    return ntohs(a.sin_port);
  }
  // The process id of the Redis server answering on port_ (INFO server), if one answers.
  std::optional<pid_t> server_pid() const {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::optional<pid_t> pid;
    timeval tv{1, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string_view ask = "INFO server\r\n";
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::send(s, ask.data(), ask.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ask.size())) {
      std::string reply;
      char buf[4096];
      // A bulk string: "$<length>\r\n<text>\r\n".
      auto complete = [&] {
        auto eol = reply.find("\r\n");
        return eol != std::string::npos && reply[0] == '$' &&
               reply.size() >= eol + 2 + std::strtoul(reply.c_str() + 1, nullptr, 10) + 2;
      };
      for (ssize_t n; !complete() && (n = ::recv(s, buf, sizeof buf, 0)) > 0;)
        reply.append(buf, static_cast<std::size_t>(n));
      auto at = reply.find("process_id:");
      if (at != std::string::npos) pid = static_cast<pid_t>(std::atol(reply.c_str() + at + 11));
    }
    ::close(s);
    return pid;
  }
};

// A client of a node: its in-memory transport and everything it has received.
struct client {
  std::shared_ptr<transport::connection> conn;
  std::string got;
  const std::string& id() const { return conn->id(); }
};

// One server: a shard on its own thread, a lifetime manager, the hub's dispatcher.
class node {
 public:
  using manager_maker = std::function<std::shared_ptr<lifetime::hub_lifetime_manager>(
      shard_pool&, const hub_options&)>;

  explicit node(const manager_maker& make) : shards_(1) {
    lifetime_ = make(shards_, options_);
    hub_methods<unit::calc_hub> m;
    unit::calc_hub::configure(m);
    dispatch::hub_definition def;
    def.methods = std::move(m.list());
    def.factory = [] { return std::make_unique<unit::calc_hub>(); };
    def.name = "/spec";
    dispatcher_ = std::make_shared<dispatch::hub_dispatcher>(std::move(def), options_, lifetime_);
    thread_ = std::thread([this] { shards_.run(); });
  }
  ~node() {
    guard_.reset();
    shards_.stop();
    thread_.join();
    dispatcher_.reset();
    lifetime_.reset();
    kept_.clear();
    shards_.shutdown();  // pending handlers go while every member they use still exists
  }

  lifetime::hub_lifetime_manager& lifetime() { return *lifetime_; }
  // Something that uses this node's shard (a backplane): destroyed with the node, before it.
  void keep(std::shared_ptr<void> owned) { kept_.push_back(std::move(owned)); }

  // Runs `f()` on the shard and returns what it returns.
  template <class F>
  auto on_shard(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto done = task.get_future();
    asio::post(shards_.executor(0), [&task] { task(); });
    return done.get();
  }

  // Runs the awaitable `make()` builds (called on the shard) to its end; its exception is
  // rethrown here.
  template <class F>
  void run(F make) {
    std::promise<void> done;
    start(std::move(make), [&done](std::exception_ptr e) {
      if (e)
        done.set_exception(e);
      else
        done.set_value();
    });
    done.get_future().get();
  }

  // Starts it on the shard and returns at once; `finished` gets its end.
  template <class F, class Handler = asio::detached_t>
  void start(F make, Handler finished = {}) {
    asio::co_spawn(
        shards_.executor(0),
        [make = std::move(make)]() mutable -> asio::awaitable<void> {
          auto op = make();
          co_await std::move(op);
        },
        std::move(finished));
  }

  client connect(std::string user = {}) {
    auto c = on_shard([&] {
      auto conn = connections_.create(1, {});
      conn->attach(transport::transport_type::websockets, http::request{}, 0, shards_.executor(0),
                   nullptr);
      if (!user.empty())
        conn->set_user(std::make_shared<const auth::claims_principal>(
                           std::vector<auth::claim>{{"sub", user}}, true),
                       std::nullopt);
      asio::co_spawn(shards_.executor(0), dispatcher_->on_connected(conn), asio::detached);
      conn->push_input(handshake, false);
      return conn;
    });
    client out{c, {}};
    if (!eventually([&] { return read(out).find("{}\x1e") != std::string::npos; }))
      throw std::runtime_error("the handshake was not answered");
    // The handshake is answered before on_connected runs (and, on Redis, before the
    // connection's and its user's channels are subscribed); invocations are read only after
    // it: once one is answered, the connection is in its lifetime manager everywhere.
    on_shard([&] {
      c->push_input(R"({"type":1,"invocationId":"connected","target":"Add","arguments":[0,0]})"
                    "\x1e",
                    false);
      return 0;
    });
    if (!eventually(
            [&] { return read(out).find(R"("invocationId":"connected")") != std::string::npos; }))
      throw std::runtime_error("on_connected did not complete");
    out.got.clear();
    return out;
  }

  void disconnect(client& c) {
    on_shard([&] {
      c.conn->end_input();
      return 0;
    });
  }

  void send_input(client& c, std::string text) {
    on_shard([&] {
      c.conn->push_input(std::move(text), false);
      return 0;
    });
  }

  // What `c` received so far (appended to c.got).
  const std::string& read(client& c) {
    c.got += on_shard([&] {
      std::string out;
      for (auto& b : c.conn->take_output()) out += *b;
      return out;
    });
    return c.got;
  }

  // Polls `done` for up to 10 s: deliveries through Redis arrive after the send completes.
  static bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 1000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }

 private:
  shard_pool shards_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{
      shards_.context(0).get_executor()};
  hub_options options_;
  transport::connection_manager connections_{std::chrono::seconds(15)};
  std::shared_ptr<lifetime::hub_lifetime_manager> lifetime_;
  std::shared_ptr<dispatch::hub_dispatcher> dispatcher_;
  std::vector<std::shared_ptr<void>> kept_;
  std::thread thread_;
};

std::string frame(const std::string& target, const std::string& arg) {
  return R"({"type":1,"target":")" + target + R"(","arguments":[")" + arg + "\"]}\x1e";
}

lifetime::outgoing message(const std::string& target, const std::string& arg) {
  return {target, protocol::payload::arguments(arg)};
}

// The two nodes of a test: the same one twice for the default manager.
class LifetimeManagerSpec : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "default") {
      a_ = std::make_unique<node>([](shard_pool& s, const hub_options& o) {
        return std::make_shared<lifetime::default_hub_lifetime_manager>(s, o);
      });
      return;
    }
    redis_ = std::make_unique<redis_server>();
    for (auto* slot : {&a_, &b_}) {
      auto plane = std::make_shared<std::shared_ptr<redis::redis_backplane>>();
      *slot = std::make_unique<node>(
          [&, plane](shard_pool& s,
                     const hub_options& o) -> std::shared_ptr<lifetime::hub_lifetime_manager> {
            *plane = std::make_shared<redis::redis_backplane>(s, redis_->configuration());
            auto m = (*plane)->create(o, "spec");
            (*plane)->start();
            return m;
          });
      (*slot)->keep(*plane);
      planes_.push_back(*plane);
      ASSERT_TRUE(node::eventually([&] { return (**plane).connected(); }))
          << "the backplane did not connect";
    }
  }
  void TearDown() override {
    for (auto& p : planes_) p->stop();
    planes_.clear();  // the nodes own them: gone with each node, before its shard
    b_.reset();
    a_.reset();
    redis_.reset();
  }

  node& a() { return *a_; }
  node& b() { return b_ ? *b_ : *a_; }
  bool single() const { return !b_; }

  // Sends on `n` and waits for the send's completion.
  template <class F>
  void send(node& n, F op) {
    n.run([&] { return op(n.lifetime()); });
  }

  // a() invokes "Ask" on `target` (a connection of b()): the future of its result, and the
  // invocation id `target` received (empty when none arrived within 10 s).
  struct asked {
    std::future<session::client_result> result;
    std::string id;
  };
  asked ask(client& target, std::chrono::milliseconds timeout = 10s) {
    auto answer = std::make_shared<std::promise<session::client_result>>();
    asked out{answer->get_future(), {}};
    a().start([this, answer, id = target.id(), timeout]() -> asio::awaitable<void> {
      auto asking = a().lifetime().invoke_connection(
          id, "Ask", protocol::payload::arguments(std::string("q")), timeout);
      answer->set_value(co_await std::move(asking));
    });
    node::eventually([&] {
      auto& got = b().read(target);
      auto at = got.find(R"("invocationId":")");
      if (at == std::string::npos) return false;
      out.id = got.substr(at + 16, got.find('"', at + 16) - at - 16);
      return true;
    });
    return out;
  }
  // The Completion a client sends for invocation `id`.
  static std::string completion(const std::string& id, const std::string& result) {
    return R"({"type":3,"invocationId":")" + id + R"(","result":)" + result + "}\x1e";
  }

  // A marker sent to everyone after the sends under test: once every client has it, what did not
  // arrive before it will not arrive (one publisher, one ordered path per connection).
  void settle(std::vector<std::pair<node*, client*>> everyone) {
    send(a(), [](auto& l) { return l.send_all(message("Marker", "end")); });
    for (auto& [n, c] : everyone)
      ASSERT_TRUE(node::eventually([&, n = n, c = c] {
        return n->read(*c).find(frame("Marker", "end")) != std::string::npos;
      })) << "the marker did not reach "
          << c->id();
  }

  static bool has(const client& c, const std::string& target, const std::string& arg) {
    return c.got.find(frame(target, arg)) != std::string::npos;
  }

 private:
  std::unique_ptr<redis_server> redis_;
  std::vector<std::shared_ptr<redis::redis_backplane>> planes_;
  std::unique_ptr<node> a_, b_;
};

TEST_P(LifetimeManagerSpec, SendAllReachesEveryConnectionOnEveryNode) {
  auto c1 = a().connect(), c2 = b().connect();
  send(a(), [](auto& l) { return l.send_all(message("Hello", "World")); });
  settle({{&a(), &c1}, {&b(), &c2}});
  EXPECT_TRUE(has(c1, "Hello", "World"));
  EXPECT_TRUE(has(c2, "Hello", "World"));
}

TEST_P(LifetimeManagerSpec, SendAllSkipsDisconnectedAndExcludedConnections) {
  auto c1 = a().connect(), c2 = b().connect(), gone = b().connect();
  b().disconnect(gone);
  ASSERT_TRUE(node::eventually([&] {
    return b().on_shard([&] { return b().lifetime().connection_count(); }) ==
           (&a() == &b() ? 2u : 1u);
  }));
  send(a(), [&](auto& l) { return l.send_all(message("Hello", "World"), {c2.id()}); });
  settle({{&a(), &c1}, {&b(), &c2}});
  EXPECT_TRUE(has(c1, "Hello", "World"));
  EXPECT_FALSE(has(c2, "Hello", "World")) << "excluded";
  b().read(gone);
  EXPECT_FALSE(has(gone, "Hello", "World")) << "disconnected";
}

TEST_P(LifetimeManagerSpec, SendConnectionReachesItWhereverItIsAndAnUnknownOneIsANoop) {
  auto c1 = a().connect(), c2 = b().connect();
  send(a(), [&](auto& l) { return l.send_connection(c2.id(), message("Hello", "you")); });
  send(a(),
       [&](auto& l) { return l.send_connection("no-such-connection", message("Hello", "x")); });
  send(a(), [&](auto& l) {
    return l.send_connections({c1.id(), c2.id()}, message("Hello", "both"));
  });
  settle({{&a(), &c1}, {&b(), &c2}});
  EXPECT_TRUE(has(c2, "Hello", "you"));
  EXPECT_FALSE(has(c1, "Hello", "you"));
  EXPECT_TRUE(has(c1, "Hello", "both"));
  EXPECT_TRUE(has(c2, "Hello", "both"));
}

TEST_P(LifetimeManagerSpec, GroupsAcrossNodesWithExclusionAndRemoval) {
  auto c1 = a().connect(), c2 = b().connect(), out = b().connect();
  // Added from the node that does not own the connection: its owner applies and acknowledges.
  send(a(), [&](auto& l) { return l.add_to_group(c2.id(), "g"); });
  send(a(), [&](auto& l) { return l.add_to_group(c1.id(), "g"); });
  // A connection nobody has: a no-op in one process. Across servers, as ASP.NET Core's Redis
  // manager, the change waits for an owner's acknowledgement and fails after ack_timeout.
  if (single()) send(a(), [&](auto& l) { return l.add_to_group("no-such-connection", "g"); });
  send(b(), [](auto& l) { return l.send_group("g", message("G", "1")); });
  send(b(), [&](auto& l) { return l.send_group("g", message("G", "2"), {c1.id()}); });
  settle({{&a(), &c1}, {&b(), &c2}, {&b(), &out}});
  EXPECT_TRUE(has(c1, "G", "1"));
  EXPECT_TRUE(has(c2, "G", "1"));
  EXPECT_FALSE(has(out, "G", "1")) << "not in the group";
  EXPECT_FALSE(has(c1, "G", "2")) << "excluded";
  EXPECT_TRUE(has(c2, "G", "2"));
  send(a(), [&](auto& l) { return l.remove_from_group(c2.id(), "g"); });
  if (single()) send(a(), [&](auto& l) { return l.remove_from_group("no-such-connection", "g"); });
  send(a(), [](auto& l) { return l.send_group("g", message("G", "3")); });
  settle({{&a(), &c1}, {&b(), &c2}});
  EXPECT_TRUE(has(c1, "G", "3"));
  EXPECT_FALSE(has(c2, "G", "3")) << "removed";
}

TEST_P(LifetimeManagerSpec, SendGroupsSendsOncePerGroup) {
  auto c1 = a().connect(), c2 = b().connect();
  send(a(), [&](auto& l) { return l.add_to_group(c2.id(), "x"); });
  send(b(), [&](auto& l) { return l.add_to_group(c2.id(), "y"); });
  send(a(), [&](auto& l) { return l.add_to_group(c1.id(), "y"); });
  send(a(), [](auto& l) { return l.send_groups({"x", "y"}, message("G", "xy")); });
  settle({{&a(), &c1}, {&b(), &c2}});
  auto count = [](const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(c2.got, frame("G", "xy")), 2u) << "in two of the groups: two messages";
  EXPECT_EQ(count(c1.got, frame("G", "xy")), 1u);
}

TEST_P(LifetimeManagerSpec, ADisconnectedConnectionLeavesItsGroups) {
  auto c1 = a().connect(), stays = b().connect();
  send(a(), [&](auto& l) { return l.add_to_group(c1.id(), "g"); });
  send(b(), [&](auto& l) { return l.add_to_group(stays.id(), "g"); });
  a().disconnect(c1);
  ASSERT_TRUE(node::eventually([&] {
    return a().on_shard([&] { return a().lifetime().connection_count(); }) ==
           (&a() == &b() ? 1u : 0u);
  }));
  auto again = a().connect();
  send(b(), [](auto& l) { return l.send_group("g", message("G", "after")); });
  settle({{&b(), &stays}, {&a(), &again}});
  a().read(c1);
  EXPECT_FALSE(has(c1, "G", "after"));
  EXPECT_FALSE(has(again, "G", "after")) << "a new connection is in no group";
  EXPECT_TRUE(has(stays, "G", "after"));
}

TEST_P(LifetimeManagerSpec, SendUserReachesEveryConnectionOfTheUser) {
  auto alice1 = a().connect("alice"), alice2 = b().connect("alice"), bob = b().connect("bob");
  send(b(), [](auto& l) { return l.send_user("alice", message("U", "a")); });
  send(a(), [](auto& l) { return l.send_users({"bob", "nobody"}, message("U", "b")); });
  settle({{&a(), &alice1}, {&b(), &alice2}, {&b(), &bob}});
  EXPECT_TRUE(has(alice1, "U", "a"));
  EXPECT_TRUE(has(alice2, "U", "a"));
  EXPECT_FALSE(has(bob, "U", "a"));
  EXPECT_TRUE(has(bob, "U", "b"));
  EXPECT_FALSE(has(alice1, "U", "b"));
}

TEST_P(LifetimeManagerSpec, InvokeConnectionGetsTheClientsResultFromAnyNode) {
  auto target = b().connect();
  auto asked = ask(target);
  ASSERT_FALSE(asked.id.empty());
  EXPECT_NE(target.got.find(R"("target":"Ask","arguments":["q"])"), std::string::npos);
  b().send_input(target, completion(asked.id, "42"));
  ASSERT_EQ(asked.result.wait_for(10s), std::future_status::ready);
  auto r = asked.result.get();
  EXPECT_FALSE(r.error.has_value());
  ASSERT_TRUE(r.has_value);
  EXPECT_EQ(r.value.json(), boost::json::value(42));
}

// ClientResultsManager: a Completion counts only from the connection the invocation went to.
TEST_P(LifetimeManagerSpec, AnotherConnectionCannotAnswerAnInvocation) {
  auto target = b().connect();
  auto intruder = b().connect();
  auto asked = ask(target);
  ASSERT_FALSE(asked.id.empty());
  b().send_input(intruder, completion(asked.id, "666"));
  // The intruder's Completion is ignored (and does not end its connection).
  EXPECT_EQ(asked.result.wait_for(300ms), std::future_status::timeout);
  b().send_input(target, completion(asked.id, "42"));
  ASSERT_EQ(asked.result.wait_for(10s), std::future_status::ready);
  auto r = asked.result.get();
  ASSERT_TRUE(r.has_value);
  EXPECT_EQ(r.value.json(), boost::json::value(42));
  EXPECT_EQ(b().read(intruder).find("\"type\":7"), std::string::npos);
}

TEST_P(LifetimeManagerSpec, AnInvocationFailsWhenItsConnectionGoes) {
  auto target = b().connect();
  auto asked = ask(target, 30s);
  ASSERT_FALSE(asked.id.empty());
  b().disconnect(target);
  ASSERT_EQ(asked.result.wait_for(10s), std::future_status::ready);
  auto r = asked.result.get();
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, "Connection disconnected.");
}

TEST_P(LifetimeManagerSpec, InvokeAnUnknownConnectionFails) {
  auto c = a().connect();  // a hub with connections, none of them this one
  std::promise<session::client_result> answer;
  auto answered = answer.get_future();
  a().run([&]() -> asio::awaitable<void> {
    auto asking = a().lifetime().invoke_connection(
        "no-such-connection", "Ask", protocol::payload::arguments(std::string("q")), 2s);
    answer.set_value(co_await std::move(asking));
  });
  ASSERT_EQ(answered.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(answered.get().error.has_value());
  (void)c;
}

INSTANTIATE_TEST_SUITE_P(Managers, LifetimeManagerSpec, ::testing::Values("default", "redis"),
                         [](const auto& info) { return info.param; });

}  // namespace

// Who is connected across a stockhub cluster (GetConnectedUsersCount counts distinct users on
// every live node). Each node keeps its users in a Redis set "<prefix>stockhub:presence:users:
// <node>" (added when a user's first connection to this node opens, removed when the last one
// closes) and beats every second in the sorted set "<prefix>stockhub:presence:nodes" (score:
// Redis's clock, in ms). A node that has not beaten for `ttl` (5 s) no longer counts, and its
// set expires with it, so a killed node drops out of the count by itself. Each beat also
// compares the set's size with this node's own list; when Redis lost the set (a restart) or
// missed a change while it was down, the set is written again from that list.
// The beat also carries the node's figures for the operator console, when given (report()):
// "<prefix>stockhub:stats:<node>", expiring with the node; figures() reads every live node's.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

namespace hubcast::redis {
class redis_backplane;
class redis_client;
}  // namespace hubcast::redis

namespace stockhub {

struct presence_options {
  std::chrono::milliseconds beat_interval{1000};
  std::chrono::milliseconds ttl{5000};
};

class cluster_presence : public std::enable_shared_from_this<cluster_presence> {
 public:
  cluster_presence(hubcast::redis::redis_backplane& backplane, presence_options options = {});

  // Call added()/removed() in the order of the changes (under one lock): they are sent to
  // Redis in that order.
  void added(const std::string& user);
  void removed(const std::string& user);

  // Before start(): what each beat writes as this node's figures (any text; called on the
  // client's executor once per beat).
  void report(std::function<std::string()> figures);
  void start();
  // Leaves the cluster's count at once; for app::on_stopping.
  boost::asio::awaitable<void> shutdown();
  // Distinct users on every live node. Throws hubcast::redis::redis_unavailable.
  boost::asio::awaitable<std::size_t> count();
  // The figures of every live node (at most max_nodes), by node name, as report() gave them; a
  // node that has not written any yet is left out. Throws hubcast::redis::redis_unavailable.
  static constexpr std::size_t max_nodes = 256;
  struct node_figures {
    std::string node, figures;
  };
  boost::asio::awaitable<std::vector<node_figures>> figures();

 private:
  boost::asio::awaitable<void> run();
  // On order_: sends the beat, and the whole set again when Redis's size differs from ours.
  void beat();
  void rewrite();

  std::shared_ptr<hubcast::redis::redis_client> client_;
  presence_options options_;
  std::string node_, nodes_key_, users_prefix_, users_key_, scratch_key_, stats_prefix_, stats_key_;
  std::function<std::string()> report_;
  boost::asio::strand<boost::asio::any_io_executor> order_;  // added/removed, in call order
  std::set<std::string> mirror_;  // on order_: what the commands sent so far leave in Redis
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool stopping_ = false;  // on the client's executor
};

}  // namespace stockhub

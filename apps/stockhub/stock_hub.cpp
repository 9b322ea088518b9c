#include "stock_hub.hpp"

#include <hubcast/core/log.hpp>
#include <hubcast/hubs/errors.hpp>
#include <hubcast/metrics/hub_metrics.hpp>
#include <hubcast/redis/redis_client.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include <spdlog/spdlog.h>

namespace stockhub {

void user_tracker::add(const std::string& u) {
  std::lock_guard lock(mutex_);
  if (connections_[u]++ == 0 && presence_) presence_->added(u);
}

void user_tracker::remove(const std::string& u) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(u);
  if (it != connections_.end() && --it->second <= 0) {
    connections_.erase(it);
    if (presence_) presence_->removed(u);
  }
}

std::size_t user_tracker::count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

void stock_hub::configure(hubcast::hub_methods<stock_hub>& m) {
  m.add("GetAvailableSymbols", &stock_hub::get_available_symbols)
      .add("Subscribe", &stock_hub::subscribe)
      .add("Unsubscribe", &stock_hub::unsubscribe)
      .add("StreamStockPrices", &stock_hub::stream_stock_prices)
      .add("BroadcastMessage", &stock_hub::broadcast_message)
      .require("Admin")
      .add("GetConnectedUsersCount", &stock_hub::get_connected_users_count)
      .require("Admin")
      .add("GetMarketSnapshot", &stock_hub::get_market_snapshot)
      .add("GetServerStatistics", &stock_hub::get_server_statistics)
      .require("Admin")
      .add("GetConnectedUsers", &stock_hub::get_connected_users)
      .require("Admin")
      .add("SetTickInterval", &stock_hub::set_tick_interval)
      .require("Admin");
}

std::string stock_hub::who() {
  auto email = context().user().find_first("email");
  return email ? std::string(*email) : std::string("unknown");
}

std::shared_ptr<hubcast::stream_keys> stock_hub::subs() {
  auto& items = context().items();
  auto it = items.find("subscriptions");
  if (it == items.end())
    it = items.emplace("subscriptions", std::make_shared<hubcast::stream_keys>()).first;
  return std::any_cast<std::shared_ptr<hubcast::stream_keys>>(it->second);
}

boost::asio::awaitable<void> stock_hub::on_connected() {
  subs();
  if (auto id = context().user_identifier()) services_->users->add(*id);
  connection_registry::entry e;
  e.email = who();
  for (const auto& c : context().user().claims())
    if (c.type == "role") e.roles.push_back(c.value);
  e.transport = std::string(context().transport_name());
  e.protocol = std::string(context().protocol_name());
  e.since =
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  services_->connections->add(context().connection_id(), std::move(e));
  // Never the connection id's secret token, never the access token.
  spdlog::info("User '{}' connected", hubcast::log::escape(who()));
  co_return;
}

boost::asio::awaitable<void> stock_hub::on_disconnected(std::optional<std::string> error) {
  if (auto id = context().user_identifier()) services_->users->remove(*id);
  services_->connections->remove(context().connection_id());
  spdlog::info("User '{}' disconnected{}", hubcast::log::escape(who()),
               error ? " with an error" : "");
  co_return;
}

std::vector<std::string> stock_hub::get_available_symbols() {
  return services_->prices->symbols();
}

void stock_hub::subscribe(std::string symbol) {
  std::string normalized = symbol;
  for (auto& c : normalized) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!services_->prices->has(normalized)) {
    std::string list;
    for (const auto& s : services_->prices->symbols()) list += (list.empty() ? "" : ", ") + s;
    clients().caller().send("Error",
                            "Symbol '" + symbol + "' is not available. Available symbols: " + list);
    return;
  }
  subs()->add(normalized);
  spdlog::info("User '{}' subscribed to {}", hubcast::log::escape(who()), normalized);
  clients().caller().send("Subscribed", normalized);
}

void stock_hub::unsubscribe(std::string symbol) {
  for (auto& c : symbol) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  subs()->remove(symbol);
  // A client-chosen string: escaped and cut, so it can neither forge nor flood log lines.
  spdlog::info("User '{}' unsubscribed from {}", hubcast::log::escape(who()),
               hubcast::log::escape(symbol, 32));
  clients().caller().send("Unsubscribed", symbol);
}

hubcast::async_stream<stock_price_event> stock_hub::stream_stock_prices() {
  // The connection's subscriptions, shared with the running stream: Subscribe and Unsubscribe
  // apply to it at once (no subscription: every symbol, the article's behaviour).
  return services_->prices->stream(subs());
}

void stock_hub::set_tick_interval(double milliseconds) {
  // Not (x >= 1 && x <= 60000) negated: NaN fails every comparison.
  if (!(milliseconds >= 1.0 && milliseconds <= 60000.0))
    throw hubcast::hub_exception("The tick interval is from 1 to 60000 milliseconds.");
  auto us = std::chrono::microseconds(std::llround(milliseconds * 1000.0));
  services_->prices->set_tick_interval(us);
  spdlog::info("Admin '{}' set the tick interval to {} µs", hubcast::log::escape(who()),
               us.count());
}

void stock_hub::broadcast_message(std::string message) {
  spdlog::info("Admin '{}' broadcasting a system message", hubcast::log::escape(who()));
  clients().all().send("SystemMessage", message);
}

boost::asio::awaitable<int> stock_hub::get_connected_users_count() {
  if (!services_->presence) co_return static_cast<int>(services_->users->count());
  try {
    auto op = services_->presence->count();
    co_return static_cast<int>(co_await std::move(op));
  } catch (const hubcast::redis::redis_unavailable&) {
  } catch (const hubcast::redis::redis_error&) {
  }
  // Outside the catch blocks (no co_await there with g++ 12).
  throw hubcast::hub_exception("The cluster's user count is unavailable: Redis cannot be reached");
}

std::vector<symbol_snapshot> stock_hub::get_market_snapshot() {
  auto all = services_->prices->snapshot();
  const auto& mine = subs()->keys();
  if (mine.empty()) return all;
  std::erase_if(all, [&](const symbol_snapshot& s) { return !mine.count(s.symbol); });
  return all;
}

node_statistics measure_node(hub_services& services) {
  node_statistics out;
  out.node = services.node;
  services.connections->count(out);
  static const auto& counters = hubcast::metrics::hub_counters::of("/hubs/stocks");
  auto [messages, ticks] =
      services.rates->sample(counters.messages_sent.value(), services.prices->ticks());
  out.messages_per_second = messages;
  out.ticks_per_second = ticks;
  return out;
}

boost::asio::awaitable<server_statistics> stock_hub::get_server_statistics() {
  server_statistics out;
  static_cast<node_statistics&>(out) = measure_node(*services_);
  if (!services_->presence) co_return out;
  // Redis unreachable: the node's own figures still answer (no cluster count, no nodes).
  try {
    auto op = services_->presence->count();
    out.cluster_users = static_cast<int>(co_await std::move(op));
  } catch (const std::exception&) {
    co_return out;
  }
  std::vector<cluster_presence::node_figures> figures;
  try {
    auto op = services_->presence->figures();
    figures = co_await std::move(op);
  } catch (const std::exception&) {
    co_return out;
  }
  out.nodes.push_back(static_cast<const node_statistics&>(out));  // this node's, fresh
  for (const auto& f : figures) {
    if (f.node == out.node) continue;
    auto other = decode_node_statistics(f.figures);
    if (other && other->node == f.node) out.nodes.push_back(std::move(*other));
  }
  std::sort(out.nodes.begin(), out.nodes.end(),
            [](const auto& a, const auto& b) { return a.node < b.node; });
  co_return out;
}

std::vector<connected_user> stock_hub::get_connected_users() {
  return services_->connections->users();
}

}  // namespace stockhub

#include <hubcast/redis/redis_connection.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace hubcast::redis {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
}

redis_connection::redis_connection(asio::any_io_executor ex, const redis_options& options,
                                   bool subscriber)
    : ex_(ex), options_(options), subscriber_(subscriber), socket_(ex) {}

redis_connection::~redis_connection() {
  boost::system::error_code ec;
  socket_.close(ec);
}

asio::awaitable<void> redis_connection::connect() {
  using namespace asio::experimental::awaitable_operators;
  tcp::resolver resolver(ex_);
  asio::steady_timer deadline(ex_, options_.connect_timeout);
  auto resolve = resolver.async_resolve(options_.host, std::to_string(options_.port),
                                        asio::as_tuple(asio::use_awaitable));
  auto timeout = deadline.async_wait(asio::as_tuple(asio::use_awaitable));
  auto r = co_await (std::move(resolve) || std::move(timeout));
  if (r.index() == 1) throw std::runtime_error("timed out resolving " + options_.endpoint());
  auto [rec, endpoints] = std::get<0>(std::move(r));
  if (rec) throw std::runtime_error("cannot resolve " + options_.host + ": " + rec.message());
  auto conn = asio::async_connect(socket_, endpoints, asio::as_tuple(asio::use_awaitable));
  auto timeout2 = deadline.async_wait(asio::as_tuple(asio::use_awaitable));
  auto c = co_await (std::move(conn) || std::move(timeout2));
  if (c.index() == 1) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    throw std::runtime_error("timed out connecting to " + options_.endpoint());
  }
  auto [cec, ep] = std::get<0>(std::move(c));
  if (cec)
    throw std::runtime_error("cannot connect to " + options_.endpoint() + ": " + cec.message());
  socket_.set_option(tcp::no_delay(true));
  socket_.set_option(asio::socket_base::keep_alive(true));
  open_ = true;
  read_buf_ = std::make_unique<char[]>(read_chunk);
  read_more();
  if (options_.password) {
    std::vector<std::string> auth{"AUTH"};
    if (options_.user) auth.push_back(*options_.user);
    auth.push_back(*options_.password);
    auto op = request(std::move(auth));
    auto reply = co_await std::move(op);
    if (reply->is_error()) {
      close("authentication refused");
      throw std::runtime_error("Redis at " + options_.endpoint() +
                               " refused the credentials: " + reply->str.substr(0, 200));
    }
  }
  if (!options_.client_name.empty()) {
    auto op = request({"CLIENT", "SETNAME", options_.client_name});
    co_await std::move(op);  // a refusal (a name with spaces) is not fatal
  }
}

void redis_connection::command(const std::vector<std::string_view>& argv, reply_handler h) {
  if (!open_) {
    if (h) h(nullptr);
    return;
  }
  out_ += format_command(argv);
  pending_.push_back(std::move(h));
  if (!write_busy_) write_more();
}

asio::awaitable<std::shared_ptr<redis_value>> redis_connection::request(
    std::vector<std::string> argv) {
  using channel =
      asio::experimental::channel<void(boost::system::error_code, std::shared_ptr<redis_value>)>;
  auto ch = std::make_shared<channel>(ex_, 1);
  std::vector<std::string_view> views(argv.begin(), argv.end());
  command(views, [ch](const redis_value* v) {
    ch->try_send(boost::system::error_code{},
                 v ? std::make_shared<redis_value>(*v) : std::shared_ptr<redis_value>());
  });
  auto [ec, reply] = co_await ch->async_receive(asio::as_tuple(asio::use_awaitable));
  if (ec || !reply)
    throw std::runtime_error("the connection to Redis at " + options_.endpoint() + " was lost");
  co_return reply;
}

void redis_connection::write_more() {
  if (out_.empty() || !open_) {
    write_busy_ = false;
    return;
  }
  write_busy_ = true;
  writing_.clear();
  writing_.swap(out_);
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      if (ec) {
                        self->write_busy_ = false;
                        self->close("write failed: " + ec.message());
                        return;
                      }
                      self->write_more();
                    });
}

void redis_connection::read_more() {
  socket_.async_read_some(asio::buffer(read_buf_.get(), read_chunk),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            if (ec) {
                              self->close(ec == asio::error::eof ? "Redis closed the connection"
                                                                 : "read failed: " + ec.message());
                              return;
                            }
                            if (!self->reader_.feed(std::string_view(self->read_buf_.get(), n))) {
                              self->close("bad reply from Redis: " + self->reader_.error());
                              return;
                            }
                            while (self->open_) {
                              auto v = self->reader_.next();
                              if (!v) break;
                              self->on_reply(std::move(v));
                            }
                            if (!self->reader_.error().empty()) {
                              self->close("bad reply from Redis: " + self->reader_.error());
                              return;
                            }
                            if (self->open_) self->read_more();
                          });
}

void redis_connection::on_reply(std::unique_ptr<redis_value> v) {
  if (subscriber_ && v->is_array(3) && v->elements[0].type == redis_value::kind::string &&
      (v->elements[0].str == "message")) {
    const auto& ch = v->elements[1];
    const auto& payload = v->elements[2];
    if (on_push_ && ch.type == redis_value::kind::string &&
        payload.type == redis_value::kind::string)
      on_push_(ch.str, payload.str);
    return;
  }
  if (pending_.empty()) {
    close("a reply from Redis that answers no command");
    return;
  }
  auto h = std::move(pending_.front());
  pending_.pop_front();
  if (h) h(v.get());
}

void redis_connection::close(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
  auto pending = std::move(pending_);
  pending_ = {};
  for (auto& h : pending)
    if (h) h(nullptr);
  if (on_closed_) {
    auto cb = std::move(on_closed_);
    on_closed_ = nullptr;
    cb(reason);
  }
}

}  // namespace hubcast::redis

#include <boost/describe/class.hpp>
#include <hubcast/server/app.hpp>

struct message {
  std::string user;
  std::string text;
};
BOOST_DESCRIBE_STRUCT(message, (), (user, text))  // JSON {"user":..,"text":..}, MessagePack map

class chat_hub : public hubcast::hub {
 public:
  static void configure(hubcast::hub_methods<chat_hub>& m) {
    m.add("Send", &chat_hub::send)
        .add("Join", &chat_hub::join)
        .add("SendToRoom", &chat_hub::to_room);
    m.add("Counter", &chat_hub::counter);
  }
  void send(std::string user, std::string text) {  // connection.invoke('Send', 'ann', 'hi')
    clients().all().send("ReceiveMessage", message{std::move(user), std::move(text)});
  }
  boost::asio::awaitable<void> join(std::string room) {  // answers once the member is in
    co_await groups().add(context().connection_id(), room);
  }
  void to_room(std::string room, std::string text) {
    clients().group(room).send("ReceiveMessage", message{"room " + room, std::move(text)});
  }
  hubcast::async_stream<int> counter(int count) {  // connection.stream('Counter', 3)
    return [count](hubcast::stream_writer<int> w) -> boost::asio::awaitable<void> {
      for (int i = 0; i < count; ++i) co_await w.write(i);
    };
  }
};

int main(int argc, char** argv) {
  hubcast::app_options options;
  if (argc > 1) options.urls = {argv[1]};  // default http://127.0.0.1:5000
  hubcast::app app(options);
  app.map_hub<chat_hub>("/chat");  // returns a hub_context: send from outside the hub
  return app.run();                // until SIGINT/SIGTERM
}

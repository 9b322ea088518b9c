#include <hubcast/protocol/hub_protocol.hpp>

#include <hubcast/protocol/json_hub_protocol.hpp>
#include <hubcast/protocol/msgpack_hub_protocol.hpp>
#include <hubcast/protocol/text_framing.hpp>

namespace hubcast::protocol {

namespace {

class json_hub_protocol final : public hub_protocol {
 public:
  protocol_id id() const override { return protocol_id::json; }
  std::string_view name() const override { return "json"; }
  int version() const override { return 2; }
  transfer_format format() const override { return transfer_format::text; }

  parse_step parse_next(std::string_view& buffer, std::size_t max_size) const override {
    auto pos = buffer.find(record_separator);
    if (pos == std::string_view::npos) {
      // The limit counts framing: a partial record already at the limit can never fit.
      if (max_size != 0 && buffer.size() >= max_size)
        return parse_step{parse_step::too_large, std::nullopt, {}};
      return {};
    }
    if (max_size != 0 && pos + 1 > max_size)
      return parse_step{parse_step::too_large, std::nullopt, {}};
    auto record = buffer.substr(0, pos);
    buffer.remove_prefix(pos + 1);
    auto r = json::parse(record);
    if (!r.error.empty()) return parse_step{parse_step::invalid, std::nullopt, std::move(r.error)};
    if (!r.message) return parse_step{parse_step::ignored, std::nullopt, {}};
    return parse_step{parse_step::message, std::move(r.message), {}};
  }

  void write_invocation(std::string& out, std::string_view target, const payload& args,
                        std::optional<std::string_view> invocation_id,
                        const encode_options& opt) const override {
    std::string a;
    args.append_json(a, opt);
    json::write_invocation_raw(out, target, a, invocation_id);
  }
  void write_stream_item(std::string& out, std::string_view invocation_id, const payload& item,
                         const encode_options& opt) const override {
    std::string i;
    item.append_json(i, opt);
    json::write_stream_item_raw(out, invocation_id, i);
  }
  void write_completion_result(std::string& out, std::string_view invocation_id,
                               const payload& result, const encode_options& opt) const override {
    std::string r;
    result.append_json(r, opt);
    json::write_completion_result_raw(out, invocation_id, r);
  }
  void write_completion_error(std::string& out, std::string_view invocation_id,
                              std::string_view error) const override {
    json::write_completion_error(out, invocation_id, error);
  }
  void write_completion_void(std::string& out, std::string_view invocation_id) const override {
    json::write_completion_void(out, invocation_id);
  }
  void write_ping(std::string& out) const override { json::write_ping(out); }
  void write_close(std::string& out, std::optional<std::string_view> error,
                   bool allow_reconnect) const override {
    json::write_close(out, error, allow_reconnect);
  }
  void write_ack(std::string& out, std::int64_t id) const override { json::write_ack(out, id); }
  void write_sequence(std::string& out, std::int64_t id) const override {
    json::write_sequence(out, id);
  }
  void write_client_invocation(std::string& out, bool streaming, std::string_view target,
                               const payload& args, std::optional<std::string_view> invocation_id,
                               const std::vector<std::string>& stream_ids,
                               const encode_options& opt) const override {
    std::string a;
    args.append_json(a, opt);
    json::write_client_invocation_raw(out, streaming, target, a, invocation_id, stream_ids);
  }
  void write_cancel_invocation(std::string& out, std::string_view id) const override {
    json::write_cancel_invocation(out, id);
  }
};

const json_hub_protocol json_instance;

}  // namespace

const hub_protocol& json_protocol() {
  return json_instance;
}

const hub_protocol* find_protocol(std::string_view name) {
  if (name == "json") return &json_instance;
  if (name == "messagepack") return &msgpack_protocol::instance();
  return nullptr;
}

const hub_protocol& protocol_by_id(protocol_id id) {
  if (id == protocol_id::messagepack) return msgpack_protocol::instance();
  return json_instance;
}

}  // namespace hubcast::protocol

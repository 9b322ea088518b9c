#include <hubcast/hubs/hub.hpp>

#include <hubcast/lifetime/hub_lifetime_manager.hpp>
#include <hubcast/session/hub_connection.hpp>

namespace hubcast {

namespace {
const auth::claims_principal anonymous;
}

hub_caller_context::hub_caller_context(std::shared_ptr<session::hub_connection> c)
    : c_(std::move(c)), user_(c_->user()) {}

const std::string& hub_caller_context::connection_id() const {
  return c_->connection_id();
}

const auth::claims_principal& hub_caller_context::user() const {
  return user_ ? *user_ : anonymous;
}

std::optional<std::string> hub_caller_context::user_identifier() const {
  return c_->user_identifier();
}

const http::request& hub_caller_context::request() const {
  return c_->transport().request();
}

std::string_view hub_caller_context::transport_name() const {
  return transport::transport_name(c_->transport().transport());
}

std::string_view hub_caller_context::protocol_name() const {
  return c_->protocol() ? c_->protocol()->name() : std::string_view();
}

std::unordered_map<std::string, std::any>& hub_caller_context::items() const {
  return c_->items();
}

void hub_caller_context::abort() const {
  c_->close(std::nullopt, false);
}

void hub::bind_caller(std::shared_ptr<session::hub_connection> c,
                      lifetime::hub_lifetime_manager* lm) {
  auto id = c->connection_id();
  context_.emplace(c);
  clients_.emplace(lm, c, id);
  groups_.emplace(lm);
}

}  // namespace hubcast

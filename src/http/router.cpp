#include "http/router.hpp"

namespace hubcast::http {

namespace {
std::string_view trim_slash(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}
}  // namespace

void router::add_exact(std::string path, handler h) {
  routes_.push_back({std::string(trim_slash(path)), false, std::move(h)});
}

void router::add_prefix(std::string prefix, handler h) {
  routes_.push_back({std::move(prefix), true, std::move(h)});
}

const handler* router::match(std::string_view path) const {
  path = trim_slash(path);
  for (const auto& r : routes_)
    if (!r.prefix && iequals(r.path, path)) return &r.h;
  const route* best = nullptr;
  for (const auto& r : routes_)
    if (r.prefix && istarts_with(path, r.path) && (!best || r.path.size() > best->path.size()))
      best = &r;
  return best ? &best->h : nullptr;
}

}  // namespace hubcast::http

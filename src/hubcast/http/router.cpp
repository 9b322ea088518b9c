#include <hubcast/http/router.hpp>

namespace hubcast::http {

namespace {
std::string_view trim_slash(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  return p;
}
}  // namespace

void router::add_exact(std::string path, handler h) {
  std::string p(trim_slash(path));
  std::string pattern = p;
  routes_.push_back({std::move(p), false, std::move(h), std::move(pattern)});
}

void router::add_prefix(std::string prefix, handler h) {
  std::string pattern = prefix + (!prefix.empty() && prefix.back() == '/' ? "" : "/") + "{**path}";
  routes_.push_back({std::move(prefix), true, std::move(h), std::move(pattern)});
}

const handler* router::match(std::string_view path, std::string_view* pattern) const {
  path = trim_slash(path);
  const route* found = nullptr;
  for (const auto& r : routes_)
    if (!r.prefix && iequals(r.path, path)) {
      found = &r;
      break;
    }
  if (!found)
    for (const auto& r : routes_)
      if (r.prefix && istarts_with(path, r.path) && (!found || r.path.size() > found->path.size()))
        found = &r;
  if (pattern) *pattern = found ? std::string_view(found->pattern) : std::string_view();
  return found ? &found->h : nullptr;
}

}  // namespace hubcast::http

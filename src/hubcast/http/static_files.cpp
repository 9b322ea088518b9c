#include <hubcast/http/static_files.hpp>

#include <fstream>
#include <sstream>

namespace hubcast::http {

namespace {

std::string content_type(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  return "application/octet-stream";
}

}  // namespace

handler static_files(std::filesystem::path root, std::string url_prefix,
                     std::vector<std::pair<std::string, std::string>> headers) {
  auto base = std::filesystem::weakly_canonical(root);
  return [base, url_prefix,
          headers = std::move(headers)](exchange& ex) -> boost::asio::awaitable<void> {
    const auto& req = ex.req();
    if (req.method != "GET" && req.method != "HEAD") {
      co_await ex.async_respond(response(405));
      co_return;
    }
    std::string rel = req.path.substr(std::min(url_prefix.size(), req.path.size()));
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
    if (rel.empty()) rel = "index.html";
    auto full = std::filesystem::weakly_canonical(base / rel);
    // Nothing outside the root: `..`, symlinks out, absolute paths.
    auto [b, f] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
    std::error_code ec;
    if (b != base.end() || !std::filesystem::is_regular_file(full, ec)) {
      co_await ex.async_respond(response(404));
      co_return;
    }
    std::ifstream in(full, std::ios::binary);
    std::stringstream data;
    data << in.rdbuf();
    response r(200, req.method == "HEAD" ? std::string() : data.str(), content_type(full));
    r.set("Cache-Control", "no-cache");
    r.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : headers) r.set(name, value);
    co_await ex.async_respond(std::move(r));
  };
}

}  // namespace hubcast::http

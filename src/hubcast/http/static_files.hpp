// Serves files from a directory (the stockhub dashboard): GET/HEAD only, no directory listing,
// no path escaping the root, index.html for directories.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <hubcast/http/router.hpp>

namespace hubcast::http {

// `headers` go on every file served (an application's Content-Security-Policy, framing rules);
// `Cache-Control: no-cache` and `X-Content-Type-Options: nosniff` always do.
handler static_files(std::filesystem::path root, std::string url_prefix = "/",
                     std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace hubcast::http

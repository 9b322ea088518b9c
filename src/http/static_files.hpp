// Serves files from a directory (the stockhub dashboard): GET/HEAD only, no directory listing,
// no path escaping the root, index.html for directories.
#pragma once

#include <filesystem>
#include <string>

#include "http/router.hpp"

namespace hubcast::http {

handler static_files(std::filesystem::path root, std::string url_prefix = "/");

}  // namespace hubcast::http

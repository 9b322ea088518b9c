#pragma once

#include <string>

namespace stockhub {

// A self-signed development certificate for localhost / 127.0.0.1 (P-256, one year), written as
// PEM files. Throws std::runtime_error.
void make_dev_certificate(const std::string& cert_path, const std::string& key_path);

}  // namespace stockhub

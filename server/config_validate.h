#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "server/config.h"

namespace medrelay::server {

// Checks the meaning of every setting (addresses, CIDRs, files, combinations) and reports each
// problem with the setting it belongs to. Types and integer ranges are checked while loading.
void validateConfig(
    const Config& config,
    const std::function<void(std::string_view setting, std::string message)>& report);

// "1.2.3.4:80" or "[::1]:80" (IP literals only); port 0..65535. Empty string on success.
std::string checkHostPort(std::string_view value);
// "10.0.0.0/8", "2001:db8::/32", or a single address. Empty string on success.
std::string checkCidr(std::string_view value);
// "https://host[:port][/path]": TLS only, no credentials, no spaces. Empty string on success.
std::string checkWebhookUrl(std::string_view value);

}  // namespace medrelay::server

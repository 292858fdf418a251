#include "server/config_validate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "common/logging.h"
#include "control/access_log_record.h"
#include "control/cluster/redis_client.h"
#include "control/webhook_payload.h"
#include "control/webhook_signature.h"
#include "server/api_key.h"

namespace medrelay::server {
namespace {

enum class Family { kNone, kV4, kV6 };

Family ipFamily(std::string_view s) {
  std::string str(s);
  unsigned char buf[16];
  if (inet_pton(AF_INET, str.c_str(), buf) == 1) return Family::kV4;
  if (inet_pton(AF_INET6, str.c_str(), buf) == 1) return Family::kV6;
  return Family::kNone;
}

bool isUnspecified(std::string_view s) {
  return s == "0.0.0.0" || s == "::" || s == "[::]";
}

std::optional<uint64_t> parseNumber(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string checkReadableFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return "file '" + path + "' does not exist";
  std::ifstream in(path);
  if (!in) return "file '" + path + "' is not readable";
  return {};
}

std::string checkCorsOrigin(std::string_view o) {
  if (o == "*") return {};
  for (std::string_view scheme : {"https://", "http://"}) {
    if (o.substr(0, scheme.size()) != scheme) continue;
    auto rest = o.substr(scheme.size());
    if (rest.empty()) break;
    if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
      return "CORS origin '" + std::string(o) + "' must be scheme://host[:port] without a path";
    }
    return {};
  }
  return "CORS origin '" + std::string(o) + "' must be '*' or http(s)://host[:port]";
}

}  // namespace

std::string checkHostPort(std::string_view value) {
  auto bad = "expected IP:PORT (IPv6 as [addr]:port), got '" + std::string(value) + "'";
  std::string_view host;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return bad;
    }
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
    if (ipFamily(host) != Family::kV6) return "'" + std::string(host) + "' is not an IPv6 address";
  } else {
    auto colon = value.rfind(':');
    if (colon == std::string_view::npos) return bad;
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad;  // bare IPv6 needs brackets
    if (ipFamily(host) != Family::kV4) return "'" + std::string(host) + "' is not an IPv4 address";
  }
  auto p = parseNumber(port);
  if (!p) return "port '" + std::string(port) + "' is not a number";
  if (*p > 65535) return "port " + std::string(port) + " is out of range 0-65535";
  return {};
}

std::string checkCidr(std::string_view value) {
  auto slash = value.find('/');
  auto addr = value.substr(0, slash);
  Family f = ipFamily(addr);
  if (f == Family::kNone) return "'" + std::string(value) + "' is not a CIDR (e.g. 10.0.0.0/8)";
  if (slash == std::string_view::npos) return {};
  auto len = parseNumber(value.substr(slash + 1));
  uint64_t max = f == Family::kV4 ? 32 : 128;
  if (!len || *len > max) {
    return "'" + std::string(value) + "' has a bad prefix length (0-" + std::to_string(max) + ")";
  }
  return {};
}

std::string checkWebhookUrl(std::string_view url) {
  const std::string shown = "'" + std::string(url.substr(0, 200)) + "'";
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return shown + " is not an https:// URL (webhooks go over TLS only)";
  }
  for (const unsigned char ch : url) {
    if (ch <= 0x20 || ch >= 0x7F) return shown + " contains spaces or non-ASCII characters";
  }
  const std::string_view rest = url.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return shown + " must not carry credentials (user@host)";
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return shown + " has an unterminated [IPv6] host";
    const std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty()) {
      if (after.front() != ':') return shown + " has garbage after the [IPv6] host";
      port = after.substr(1);
      has_port = true;
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    has_port = true;
  }
  if (host.empty()) return shown + " has no host";
  if (has_port) {
    auto p = parseNumber(port);
    if (!p || *p == 0 || *p > 65535) return shown + " has an invalid port";
  }
  return {};
}

void validateConfig(const Config& c,
                    const std::function<void(std::string_view, std::string)>& report) {
  auto checkAddr = [&](std::string_view key, const std::string& v, bool optional) {
    if (v.empty()) {
      if (!optional) report(key, "must not be empty");
      return;
    }
    if (auto e = checkHostPort(v); !e.empty()) report(key, e);
  };

  // node
  if (c.node.id.empty() || c.node.id.size() > 64 ||
      !std::all_of(c.node.id.begin(), c.node.id.end(), [](unsigned char ch) {
        return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
      })) {
    report("node.id", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  }

  // http
  checkAddr("http.listen", c.http.listen, false);
  if (c.http.tls_cert.empty() != c.http.tls_key.empty()) {
    if (c.http.tls_cert.empty()) {
      report("http.tls_key", "set without http.tls_cert (set both or neither)");
    } else {
      report("http.tls_cert", "set without http.tls_key (set both or neither)");
    }
  }
  if (!c.http.tls_cert.empty()) {
    if (auto e = checkReadableFile(c.http.tls_cert); !e.empty()) report("http.tls_cert", e);
  }
  if (!c.http.tls_key.empty()) {
    if (auto e = checkReadableFile(c.http.tls_key); !e.empty()) report("http.tls_key", e);
  }
  for (const auto& o : c.http.cors_origins) {
    if (auto e = checkCorsOrigin(o); !e.empty()) report("http.cors_origins", e);
  }

  // media
  if (ipFamily(c.media.listen_ip) == Family::kNone) {
    report("media.listen_ip", "'" + c.media.listen_ip + "' is not an IP address");
  }
  if (!c.media.announced_ip.empty()) {
    if (ipFamily(c.media.announced_ip) == Family::kNone) {
      report("media.announced_ip", "'" + c.media.announced_ip + "' is not an IP address");
    } else if (isUnspecified(c.media.announced_ip)) {
      report("media.announced_ip", "must be a reachable address, not " + c.media.announced_ip);
    }
  }
  if (uint64_t last = uint64_t{c.media.udp_port} + c.effectiveWorkers() - 1;
      c.media.udp_port != 0 && last > 65535) {
    report("media.udp_port", "udp_port + workers - 1 = " + std::to_string(last) +
                                 " exceeds 65535 (worker i uses udp_port + i)");
  }

  // turn
  if (c.turn.enabled) {
    checkAddr("turn.udp_listen", c.turn.udp_listen, true);
    checkAddr("turn.tcp_listen", c.turn.tcp_listen, true);
    checkAddr("turn.tls_listen", c.turn.tls_listen, true);
    if (c.turn.udp_listen.empty() && c.turn.tcp_listen.empty() && c.turn.tls_listen.empty()) {
      report("turn.enabled", "true, but none of turn.udp_listen/tcp_listen/tls_listen is set");
    }
    if (!c.turn.tls_listen.empty() && c.http.tls_cert.empty()) {
      report("turn.tls_listen", "needs a certificate: set http.tls_cert and http.tls_key");
    }
  }
  if (c.turn.realm.empty() || c.turn.realm.size() > 127 ||
      !std::all_of(c.turn.realm.begin(), c.turn.realm.end(),
                   [](unsigned char ch) { return ch > 0x20 && ch < 0x7F && ch != '"'; })) {
    report("turn.realm", "must be 1-127 printable ASCII characters without spaces or quotes");
  }
  for (const auto& s : c.turn.secrets) {
    if (s.size() < 16) report("turn.secrets", "each secret must be at least 16 characters");
  }
  for (const auto& p : c.turn.allow_peers) {
    if (auto e = checkCidr(p); !e.empty()) report("turn.allow_peers", e);
  }
  for (const auto& p : c.turn.deny_peers) {
    if (auto e = checkCidr(p); !e.empty()) report("turn.deny_peers", e);
  }
  {
    int v4 = 0;
    int v6 = 0;
    for (const auto& ip : c.turn.relay_ips) {
      const auto f = ipFamily(ip);
      if (f == Family::kNone || isUnspecified(ip)) {
        report("turn.relay_ips", "'" + ip + "' is not a specific IP address");
      }
      v4 += f == Family::kV4;
      v6 += f == Family::kV6;
    }
    if (v4 > 1 || v6 > 1) report("turn.relay_ips", "at most one IPv4 and one IPv6 address");
  }
  // Two TCP listeners on one address cannot both bind.
  if (!c.http.listen.empty() && c.turn.enabled) {
    for (const char* key : {"turn.tcp_listen", "turn.tls_listen"}) {
      const auto& v =
          std::string_view(key) == "turn.tcp_listen" ? c.turn.tcp_listen : c.turn.tls_listen;
      if (v == c.http.listen && !v.ends_with(":0")) {
        report(key, "same address as http.listen (" + v + ")");
      }
    }
  }

  // cluster (docs/cluster.md): only checked when a Redis address makes this a cluster node.
  if (!c.cluster.redis.empty()) {
    if (auto a = control::cluster::RedisAddress::parse(c.cluster.redis); !a.ok()) {
      report("cluster.redis", a.error().message);
    }
    if (c.cluster.secret_file.empty()) {
      report("cluster.secret_file", "required with cluster.redis (the same file on every node)");
    } else if (auto e = checkReadableFile(c.cluster.secret_file); !e.empty()) {
      report("cluster.secret_file", e);
    }
    if (!c.cluster.redis_password_file.empty()) {
      if (auto e = checkReadableFile(c.cluster.redis_password_file); !e.empty()) {
        report("cluster.redis_password_file", e);
      }
    }
    const std::string& url = c.cluster.public_url;
    if (!(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with("/") ||
        url.find_first_of(" ?#") != std::string::npos) {
      report("cluster.public_url",
             "required with cluster.redis: this node's base URL, e.g. https://relay-1.example:8443 "
             "(no path, no trailing slash)");
    }
    if (c.cluster.heartbeat_ms * 2 > c.cluster.alive_ttl_ms) {
      report("cluster.heartbeat_ms", "must be at most half of cluster.alive_ttl_ms");
    }
    if (c.cluster.heartbeat_ms * 2 > c.cluster.lease_ttl_ms) {
      report("cluster.lease_ttl_ms", "must be at least twice cluster.heartbeat_ms");
    }
  }
  if (c.cluster.key_prefix.empty() || c.cluster.key_prefix.size() > 64 ||
      !std::all_of(c.cluster.key_prefix.begin(), c.cluster.key_prefix.end(), [](unsigned char ch) {
        return std::isalnum(ch) != 0 || ch == '_' || ch == '-' || ch == '.';
      })) {
    report("cluster.key_prefix", "1-64 characters of [A-Za-z0-9_.-]");
  }
  if (c.cluster.region.empty() || c.cluster.region.size() > 64) {
    report("cluster.region", "must be 1-64 characters");
  }

  // storage, access_log
  if (c.storage.data_dir.empty()) report("storage.data_dir", "must not be empty");

  // webhooks
  for (const auto& url : c.webhooks.urls) {
    if (auto e = checkWebhookUrl(url); !e.empty()) report("webhooks.urls", e);
  }
  if (c.webhooks.secret_files.size() != c.webhooks.urls.size()) {
    report("webhooks.secret_files", "needs one secret file per URL in webhooks.urls (" +
                                        std::to_string(c.webhooks.urls.size()) + " URLs, " +
                                        std::to_string(c.webhooks.secret_files.size()) +
                                        " secret files)");
  }
  for (const auto& file : c.webhooks.secret_files) {
    // The message names the file and line, never a secret.
    if (auto r = control::loadWebhookSecrets(file); !r) {
      report("webhooks.secret_files", r.error().message);
    }
  }
  for (const auto& e : c.webhooks.events) {
    if (!control::parseAccessEvent(e)) {
      report("webhooks.events", "'" + e + "' is not an access-log event (docs/access-log.md)");
    }
  }
  if (!control::parseWebhookFormat(c.webhooks.format)) {
    report("webhooks.format", "'" + c.webhooks.format + "' is not one of json|fhir");
  }
  if (!c.webhooks.ca_file.empty()) {
    if (auto e = checkReadableFile(c.webhooks.ca_file); !e.empty()) report("webhooks.ca_file", e);
  }
  if (c.webhooks.backoff_initial_ms > c.webhooks.backoff_max_ms) {
    report("webhooks.backoff_initial_ms", "larger than webhooks.backoff_max_ms");
  }

  // log
  if (!log::parseLevel(c.log.level)) {
    report("log.level",
           "'" + c.log.level + "' is not one of trace|debug|info|warn|error|critical|off");
  }
  if (!log::parseFormat(c.log.format)) {
    report("log.format", "'" + c.log.format + "' is not one of text|json");
  }

  // api
  // The value is not echoed: a raw key pasted here by mistake must not reach the logs.
  for (size_t i = 0; i < c.api.keys_sha256.size(); ++i) {
    if (!ApiKeySet::fromHexHashes({c.api.keys_sha256[i]}).ok()) {
      report("api.keys_sha256", "entry " + std::to_string(i + 1) +
                                    " is not a hex SHA-256 (64 hex digits); compute one with "
                                    "'medrelay hash-key'");
    }
  }
}

}  // namespace medrelay::server

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace medrelay::server {

// Every setting of the server with its default. Field names equal the setting keys
// (`http.max_body_bytes` is `config.http.max_body_bytes`); docs/configuration.md and
// configs/medrelay.yaml describe each one.
struct Config {
  struct Node {
    std::string id;  // default: the host name
    bool operator==(const Node&) const = default;
  } node;

  struct Http {
    std::string listen = "127.0.0.1:8080";
    std::string tls_cert;  // PEM chain; with tls_key, enables HTTPS
    std::string tls_key;
    uint32_t max_connections = 10000;
    uint32_t max_header_bytes = 16 * 1024;
    uint64_t max_body_bytes = 1024ull * 1024;
    uint32_t header_timeout_ms = 10000;
    uint32_t idle_timeout_ms = 60000;
    std::vector<std::string> cors_origins;
    bool operator==(const Http&) const = default;
  } http;

  struct Media {
    std::string listen_ip = "127.0.0.1";
    std::string announced_ip;   // the address put in ICE candidates when behind NAT
    uint16_t udp_port = 40000;  // worker i uses udp_port + i; 0: ephemeral ports (tests)
    uint16_t tcp_port = 40000;  // passive ICE-TCP; 0 disables
    uint32_t workers = 0;       // 0: one per core
    // Session liveness (docs/media.md "Session liveness").
    uint32_t stale_after_ms = 2000;       // silent this long: stale, a rejoin may take it over
    uint32_t video_floor_kbps = 100;      // below this downlink: audio only to that subscriber
    uint32_t connect_timeout_ms = 20000;  // ICE + DTLS must be done within this (ice-failed)
    uint32_t consent_timeout_ms = 30000;  // RFC 7675 §5.1 consent expiry (consent-timeout)
    // Data channels (docs/media.md "Data channels"): the consultation chat.
    bool datachannels = true;
    uint32_t datachannel_max_message_size = 65536;   // our a=max-message-size; larger: refused
    uint32_t datachannel_messages_per_second = 20;   // per session
    uint32_t datachannel_bytes_per_second = 262144;  // per session
    bool operator==(const Media&) const = default;
  } media;

  struct Turn {
    bool enabled = true;
    std::string udp_listen = "127.0.0.1:3478";
    std::string tcp_listen;
    std::string tls_listen;
    std::string realm = "medrelay";
    std::vector<std::string> secrets;  // empty: generated into <data_dir>/turn-secret
    std::vector<std::string> allow_peers;
    std::vector<std::string> deny_peers;
    std::vector<std::string> relay_ips;  // one IPv4 and/or one IPv6; empty: media.listen_ip
    bool local_sfu_path = true;          // relay to our own media workers inside the process
    bool operator==(const Turn&) const = default;
  } turn;

  struct Web {
    std::string root;  // the built web client served at /app/; empty: found next to the binary
    bool operator==(const Web&) const = default;
  } web;

  struct Storage {
    std::string data_dir = "./medrelay-data";
    bool operator==(const Storage&) const = default;
  } storage;

  struct AccessLog {
    std::string dir;  // empty: <data_dir>/access-log
    uint64_t rotate_bytes = 64ull * 1024 * 1024;
    bool rotate_daily = true;
    uint32_t retention_days = 0;  // 0: keep forever
    bool operator==(const AccessLog&) const = default;
  } access_log;

  // Signed webhooks from the access log (docs/access-log.md "Webhooks").
  struct Webhooks {
    std::vector<std::string> urls;          // https:// endpoints; empty: no webhooks
    std::vector<std::string> secret_files;  // one per URL: whsec_ secrets, one a line
    std::vector<std::string> events;        // access-log event names; empty: every event
    std::string format = "json";            // json | fhir
    std::string ca_file;                    // PEM CAs to verify endpoints; empty: the system's
    uint32_t max_attempts = 10;             // then the delivery is dead-lettered
    uint32_t backoff_initial_ms = 1000;
    uint32_t backoff_max_ms = 300000;
    uint32_t timeout_ms = 10000;
    bool operator==(const Webhooks&) const = default;
  } webhooks;

  struct Log {
    std::string level = "info";
    std::string format = "text";
    bool operator==(const Log&) const = default;
  } log;

  struct Api {
    std::vector<std::string> keys_sha256;  // lowercase hex SHA-256 of each accepted key
    bool operator==(const Api&) const = default;
  } api;

  // Several nodes on Redis (docs/cluster.md); `redis` empty: a single node, as without it.
  struct Cluster {
    std::string redis;                // "host:port" or "unix:/path/redis.sock"
    std::string redis_user;           // ACL user; empty: the default user
    std::string redis_password_file;  // first line is the password; empty: no AUTH
    std::string secret_file;          // shared by every node: seals redirect tickets
    std::string public_url;           // this node's base URL for participants and other nodes
    std::string region = "default";
    uint32_t capacity = 1000;  // sessions; placement prefers the least loaded (load / capacity)
    std::string key_prefix = "mr";
    uint32_t alive_ttl_ms = 5000;   // the node counts as dead this long after its last beat
    uint32_t heartbeat_ms = 1000;   // how often the node renews its registry entry
    uint32_t lease_ttl_ms = 15000;  // doctor leases, renewed on each beat
    uint32_t command_timeout_ms = 1000;
    uint32_t ticket_ttl_ms = 30000;  // redirect tickets
    bool operator==(const Cluster&) const = default;
  } cluster;

  struct Shutdown {
    uint32_t grace_ms = 10000;
    bool operator==(const Shutdown&) const = default;
  } shutdown;

  bool operator==(const Config&) const = default;

  // Embedded defaults with the host-dependent ones filled in (node.id).
  static Config defaults();

  // The effective configuration as YAML, secrets (turn.secrets) redacted.
  std::string toYaml() const;

  // Number of media workers after resolving 0 to the number of cores.
  uint32_t effectiveWorkers() const;
};

// Where a setting's value came from; errors point there.
struct ConfigOrigin {
  enum class Source { kDefault, kFile, kEnv, kFlag };
  Source source = Source::kDefault;
  std::string where;  // file path, environment variable name, or the --set argument
  int line = 0;       // 1-based line in the file, 0 if unknown
};

struct ConfigError {
  std::string file;     // set when the error is in the YAML file
  int line = 0;         // 1-based; 0 when not from a file or unknown
  std::string setting;  // "http.listen"; for a YAML syntax error, the nearest setting if any
  std::string message;
  std::string origin;  // "MEDRELAY_HTTP__LISTEN" or "--set http.listen=…" when not from the file

  // "FILE:LINE: setting: message", or "origin: setting: message" for env/flag values.
  std::string toString() const;
};

struct ConfigSources {
  std::optional<std::string> file;
  // Environment entries ("NAME=value"); only MEDRELAY_<SECTION>__<KEY> entries are settings.
  std::vector<std::string> environment;
  std::vector<std::string> overrides;  // "section.key=value", in command-line order
};

struct ConfigLoad {
  Config config;
  std::map<std::string, ConfigOrigin> origins;  // only settings that were set somewhere
  std::vector<ConfigError> errors;              // every error, in file/env/flag order
  bool ok() const { return errors.empty(); }
};

// Embedded defaults < YAML file < environment < --set; then validates the result.
ConfigLoad loadConfig(const ConfigSources& sources);

// The process environment as "NAME=value" entries.
std::vector<std::string> processEnvironment();

// Every setting key, in documentation order ("node.id", "http.listen", ...).
std::vector<std::string> settingKeys();

}  // namespace medrelay::server

#pragma once

#include <string>

#include "common/result.h"
#include "server/config.h"

namespace medrelay::server {

// What bootstrapDataDir() found or created, for the start-up log.
struct BootstrapReport {
  std::string data_dir;
  std::string api_key_file;  // <data_dir>/api-key; empty when api.keys_sha256 is configured
  bool api_key_generated = false;
  std::string turn_secret_file;  // <data_dir>/turn-secret; empty when turn.secrets is configured
  bool turn_secret_generated = false;
};

// Prepares the data directory (created with mode 0700) and fills in what the configuration left
// empty:
// - api.keys_sha256 empty: the first start generates an API key (256 random bits) into
//   <data_dir>/api-key (mode 0600) for the operator to read and stores only its SHA-256 in
//   <data_dir>/api-key.sha256; later starts reuse that hash (the key file may be deleted).
// - turn.secrets empty and TURN enabled: a shared secret in <data_dir>/turn-secret (0600),
//   generated once and reused.
// Never logs a key or secret, only file paths.
Result<BootstrapReport> bootstrapDataDir(Config& config);

inline constexpr const char* kApiKeyFile = "api-key";
inline constexpr const char* kApiKeyHashFile = "api-key.sha256";
inline constexpr const char* kTurnSecretFile = "turn-secret";

}  // namespace medrelay::server

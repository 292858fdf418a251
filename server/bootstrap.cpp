#include "server/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include "common/logging.h"
#include "server/api_key.h"

namespace medrelay::server {
namespace fs = std::filesystem;
namespace {

Error sysError(const std::string& what, const std::string& path, int err) {
  return makeError("bootstrap", what + " " + path + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Result<void> fsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return sysError("cannot sync", dir, errno);
  return {};
}

// Creates `path` exclusively with mode 0600 (whatever the umask) and writes `contents` durably.
Result<void> writeNewPrivateFile(const std::string& path, const std::string& contents) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return sysError("cannot create", path, errno);
  if (::fchmod(fd.get(), 0600) != 0) return sysError("cannot chmod", path, errno);
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + off, contents.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sysError("cannot write", path, errno);
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return sysError("cannot sync", path, errno);
  if (::close(fd.release()) != 0) return sysError("cannot close", path, errno);
  return {};
}

// Writes through a temporary file and rename, so a crash never leaves a half-written file.
Result<void> replacePrivateFile(const std::string& dir, const std::string& path,
                                const std::string& contents) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  if (auto r = writeNewPrivateFile(tmp, contents); !r) return r;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sysError("cannot rename to", path, errno);
  return fsyncDir(dir);
}

// The first line of a small file, or nullopt if it does not exist.
Result<std::optional<std::string>> readFirstLine(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<std::string>{};
  std::ifstream in(path);
  if (!in) return sysError("cannot read", path, errno);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return std::optional<std::string>{line};
}

void warnIfShared(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    MR_LOG_WARN(log::get("main"), "{} is accessible by other users (mode {:o}); expected {}", path,
                st.st_mode & 0777, S_ISDIR(st.st_mode) ? "0700" : "0600");
  }
}

Result<void> prepareDataDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::path p(dir);
    if (p.has_parent_path() && !p.parent_path().empty()) {
      fs::create_directories(p.parent_path(), ec);
      if (ec)
        return makeError("bootstrap",
                         "cannot create " + p.parent_path().string() + ": " + ec.message());
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return sysError("cannot create data dir", dir, errno);
    }
    ::chmod(dir.c_str(), 0700);  // the umask may have cleared bits we want; never adds others'
  }
  if (!fs::is_directory(dir, ec)) return makeError("bootstrap", dir + " is not a directory");
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    return sysError("data dir not writable:", dir, errno);
  }
  warnIfShared(dir);
  return {};
}

Result<void> bootstrapApiKey(Config& config, BootstrapReport& report) {
  auto logger = log::get("main");
  const std::string& dir = report.data_dir;
  std::string key_path = dir + "/" + kApiKeyFile;
  std::string hash_path = dir + "/" + kApiKeyHashFile;
  if (!config.api.keys_sha256.empty()) {
    MR_LOG_INFO(logger, "API keys: {} configured hash(es) (api.keys_sha256)",
                config.api.keys_sha256.size());
    return {};
  }
  report.api_key_file = key_path;

  auto stored = readFirstLine(hash_path);
  if (!stored) return stored.error();
  if (stored.value()) {
    if (!ApiKeySet::fromHexHashes({*stored.value()}).ok()) {
      return makeError("bootstrap", hash_path + " is not a hex SHA-256; delete it and " + key_path +
                                        " to generate a new API key");
    }
    config.api.keys_sha256 = {*stored.value()};
    warnIfShared(key_path);
    MR_LOG_INFO(logger, "API key: using the stored hash {} (the key was written to {})", hash_path,
                key_path);
    return {};
  }

  // No hash yet: either a first start, or a crash after writing the key but before its hash.
  auto existing = readFirstLine(key_path);
  if (!existing) return existing.error();
  std::string key;
  if (existing.value() && !existing.value()->empty()) {
    key = *existing.value();
  } else {
    key = generateApiKey();
    ::unlink(key_path.c_str());  // an empty leftover
    if (auto r = writeNewPrivateFile(key_path, key + "\n"); !r) return r.error();
    report.api_key_generated = true;
  }
  std::string hash = sha256Hex(key);
  if (auto r = replacePrivateFile(dir, hash_path, hash + "\n"); !r) return r.error();
  config.api.keys_sha256 = {hash};
  MR_LOG_INFO(logger,
              "API key: {} {} (mode 0600); read it from there. Only its SHA-256 is kept in {}",
              report.api_key_generated ? "generated a new key into" : "hashed the existing key in",
              key_path, hash_path);
  return {};
}

Result<void> bootstrapTurnSecret(Config& config, BootstrapReport& report) {
  if (!config.turn.enabled || !config.turn.secrets.empty()) return {};
  auto logger = log::get("main");
  std::string path = report.data_dir + "/" + kTurnSecretFile;
  report.turn_secret_file = path;
  auto stored = readFirstLine(path);
  if (!stored) return stored.error();
  if (stored.value()) {
    if (stored.value()->size() < 16) {
      return makeError("bootstrap", path + " holds a secret shorter than 16 characters");
    }
    config.turn.secrets = {*stored.value()};
    warnIfShared(path);
    MR_LOG_INFO(logger, "TURN secret: using {}", path);
    return {};
  }
  std::string secret = generateSecret();
  if (auto r = writeNewPrivateFile(path, secret + "\n"); !r) return r.error();
  if (auto r = fsyncDir(report.data_dir); !r) return r.error();
  config.turn.secrets = {secret};
  report.turn_secret_generated = true;
  MR_LOG_INFO(logger, "TURN secret: generated into {} (mode 0600)", path);
  return {};
}

}  // namespace

Result<BootstrapReport> bootstrapDataDir(Config& config) {
  BootstrapReport report;
  report.data_dir = config.storage.data_dir;
  if (auto r = prepareDataDir(report.data_dir); !r) return r.error();
  if (auto r = bootstrapApiKey(config, report); !r) return r.error();
  if (auto r = bootstrapTurnSecret(config, report); !r) return r.error();
  return report;
}

}  // namespace medrelay::server

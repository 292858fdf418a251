#pragma once

#include <filesystem>
#include <string>

namespace medrelay::test {

// A fresh directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Reads a whole file; empty string if absent.
std::string readFile(const std::filesystem::path& p);
void writeFile(const std::filesystem::path& p, const std::string& contents);
// Runs `cmd` through the shell with stderr folded into stdout; its exit status (-1 if it did not
// exit normally) and, if asked, what it printed.
int runCommand(const std::string& cmd, std::string* output = nullptr);

// Paths baked in at build time.
inline std::string sourceDir() {
  return MEDRELAY_SOURCE_DIR;
}
inline std::string sharedDir() {
  return MEDRELAY_SHARED_DIR;
}
inline std::string serverBinary() {
  return MEDRELAY_BINARY;
}

}  // namespace medrelay::test

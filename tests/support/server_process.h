#pragma once

// Runs the real medrelay binary as a child process for integration tests.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace medrelay::test {

using std::chrono::milliseconds;

// The medrelay binary with stdout and stderr captured into one file.
class ServerProcess {
 public:
  ServerProcess(const TempDir& dir, std::vector<std::string> args,
                const std::string& stdin_text = "")
      : output_(dir.path() / ("output-" + std::to_string(counter_++) + ".log")) {
    std::string in_path = (dir.path() / "stdin.txt").string();
    writeFile(in_path, stdin_text);
    args.insert(args.begin(), serverBinary());
    // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string out_path = output_.string();
    pid_ = ::fork();
    if (pid_ == 0) {
      int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int in = ::open(in_path.c_str(), O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~ServerProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      waitExit(milliseconds(5000));
    }
  }

  bool running() {
    if (status_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      return false;
    }
    return true;
  }
  // The exit code, or nullopt if still running after `timeout` (or killed by a signal: -signo).
  std::optional<int> waitExit(milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    if (!status_) return std::nullopt;
    return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -WTERMSIG(*status_);
  }
  bool waitForOutput(const std::string& needle, milliseconds timeout = milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (output().find(needle) != std::string::npos) return true;
      if (!running()) return output().find(needle) != std::string::npos;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  std::string output() const { return readFile(output_); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path output_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Settings that let several servers run side by side in parallel tests: every listener on an
// ephemeral loopback port, one media worker, a private data dir.
inline std::vector<std::string> isolatedServerArgs(const std::string& data_dir) {
  return {"--set", "storage.data_dir=" + data_dir,
          "--set", "http.listen=127.0.0.1:0",
          "--set", "media.udp_port=0",
          "--set", "media.tcp_port=0",
          "--set", "media.workers=1",
          "--set", "turn.udp_listen=127.0.0.1:0",
          "--set", "shutdown.grace_ms=3000"};
}

// The admin API key a first start wrote to <data_dir>/api-key, without its line end.
inline std::string readApiKey(const std::filesystem::path& data_dir) {
  std::string key = readFile(data_dir / "api-key");
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

// The port the HTTP listener bound (from the "listening on" log line), 0 if not seen in time.
inline uint16_t waitForHttpPort(ServerProcess& p, milliseconds timeout = milliseconds(10000)) {
  if (!p.waitForOutput("listening on ", timeout)) return 0;
  std::smatch m;
  std::string out = p.output();
  static const std::regex re("listening on [^ ]* port ([0-9]+)");
  if (!std::regex_search(out, m, re)) return 0;
  return static_cast<uint16_t>(std::stoi(m[1].str()));
}

}  // namespace medrelay::test

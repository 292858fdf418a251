#include "bench/load/relay_process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <thread>
#include <vector>

namespace medrelay::bench {

bool RelayProcess::start(const Options& options) {
  char tmpl[] = "/tmp/medrelay-load-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return false;
  dir_ = tmpl;
  const std::string data = dir_ + "/data";
  const std::string log = dir_ + "/medrelay.log";
  std::vector<std::string> args = {options.binary,
                                   "--set",
                                   "storage.data_dir=" + data,
                                   "--set",
                                   "http.listen=127.0.0.1:0",
                                   "--set",
                                   "media.udp_port=0",
                                   "--set",
                                   "media.tcp_port=0",
                                   "--set",
                                   "media.workers=" + std::to_string(options.workers)};
  if (options.turnPort == 0) {
    args.insert(args.end(), {"--set", "turn.enabled=false"});
  } else {
    args.insert(args.end(),
                {"--set", "turn.udp_listen=127.0.0.1:" + std::to_string(options.turnPort), "--set",
                 std::string("turn.local_sfu_path=") + (options.turnLocalPath ? "true" : "false")});
  }
  pid_ = ::fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  if (options.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(options.cpu, &set);
    ::sched_setaffinity(pid_, sizeof set, &set);
  }
  static const std::regex re("listening on 127\\.0\\.0\\.1 port ([0-9]+)");
  for (int i = 0; i < 200 && port_ == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream f(log);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::smatch m;
    if (std::regex_search(text, m, re)) port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::fprintf(stderr, "medrelay-load: medrelay exited:\n%s\n", text.c_str());
      return false;
    }
  }
  std::ifstream k(data + "/api-key");
  std::getline(k, apiKey_);
  while (!apiKey_.empty() && (apiKey_.back() == '\r' || apiKey_.back() == ' ')) {
    apiKey_.pop_back();
  }
  return port_ != 0 && !apiKey_.empty();
}

void RelayProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (i == 99) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

}  // namespace medrelay::bench

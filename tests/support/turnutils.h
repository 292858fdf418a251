#pragma once

// coturn's client tools (turnutils_uclient, turnutils_peer) as independent TURN peers in tests.
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

extern char** environ;

namespace medrelay::test {

using namespace std::chrono_literals;

inline bool haveTool(const char* name) {
  return std::system((std::string("command -v ") + name + " >/dev/null 2>&1").c_str()) == 0;
}

inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// turnutils_peer: a UDP echo peer, killed by pid at the end.
class Peer {
 public:
  explicit Peer(uint16_t port) {
    const std::string p = std::to_string(port);
    const char* argv[] = {"turnutils_peer", "-L", "127.0.0.1", "-p", p.c_str(), nullptr};
    posix_spawnp(&pid_, "turnutils_peer", nullptr, nullptr, const_cast<char**>(argv), environ);
    std::this_thread::sleep_for(300ms);
  }
  ~Peer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

inline uint16_t freeUdpPort() {
  static uint16_t next = static_cast<uint16_t>(35000 + (getpid() % 2000) * 5);
  return next++;
}

struct Summary {
  long lost = -1;
  long sent = -1;
  long received = -1;
};

// uclient's closing lines: "Total lost packets N (...)", "tot_send_msgs=N, tot_recv_msgs=M"
// (coturn 4.6 prints "Total sent/received messages" differently across builds: both forms).
inline Summary parseSummary(const std::string& out) {
  Summary s;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(Total lost packets (\d+))")))
    s.lost = std::stol(m[1]);
  // The final totals line: "start_mclient: tot_send_msgs=N, tot_recv_msgs=M" (no "msz=").
  if (std::regex_search(out, m,
                        std::regex(R"(start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+))"))) {
    s.sent = std::stol(m[1]);
    s.received = std::stol(m[2]);
  }
  return s;
}

}  // namespace medrelay::test

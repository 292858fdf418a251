#pragma once

// medrelay started by medrelay-load on loopback: a temp data dir, ephemeral HTTP and media ports,
// TURN off unless asked for, `media.workers` as asked, stdout/stderr to a log file in the temp dir;
// optionally pinned to one CPU. Stopped with SIGTERM (then SIGKILL) on destruction; the temp dir is
// removed.

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace medrelay::bench {

class RelayProcess {
 public:
  struct Options {
    std::string binary;
    int workers = 1;
    int cpu = -1;               // pin to this CPU; -1 = no
    uint16_t turnPort = 0;      // TURN over UDP on 127.0.0.1:turnPort; 0 = TURN off
    bool turnLocalPath = true;  // turn.local_sfu_path
  };
  RelayProcess() = default;
  ~RelayProcess() { stop(); }
  RelayProcess(const RelayProcess&) = delete;
  RelayProcess& operator=(const RelayProcess&) = delete;

  // Starts it and waits (up to 10 s) for its HTTP port and API key; false (with the log on
  // stderr) if it exits or never listens.
  bool start(const Options& options);
  void stop();

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& apiKey() const { return apiKey_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string apiKey_;
};

}  // namespace medrelay::bench

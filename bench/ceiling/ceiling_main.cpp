// medrelay-ceiling: runs the bare UDP relay (ceiling_relay.h) in a child process pinned to one
// CPU and drives it with the load generator's RTP-shaped traffic from the other CPU; prints and
// writes a JSON result (forwarded packets/s, loss, latency, relay CPU seconds from /proc).
//
//   medrelay-ceiling --fanout 2 --rate 20000 --duration 5 --json out.json
//   medrelay-ceiling --fanout 1 --rate 0      # unpaced: saturation
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bench/ceiling/ceiling_relay.h"
#include "bench/load/load_stats.h"
#include "bench/load/udp_load.h"

namespace {

std::atomic<bool> gStop{false};
void onTerm(int) {
  gStop = true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace medrelay::bench;
  CLI::App app{"medrelay-ceiling: bare recvmmsg/sendmmsg UDP relay driven by the load generator"};
  size_t fanout = 1;
  double rate = 20000;
  double duration = 5;
  int relayCpu = 0;
  int genCpu = 1;
  uint32_t videoBitrate = 1'000'000;
  std::string jsonPath;
  bool quiet = false;
  app.add_option("--fanout", fanout, "receivers per packet (K)")->check(CLI::Range(1, 16));
  app.add_option("--rate", rate, "offered packets/s; 0 = unpaced (saturation)");
  app.add_option("--duration", duration, "seconds of sending")->check(CLI::Range(0.5, 600.0));
  app.add_option("--relay-cpu", relayCpu, "CPU the relay is pinned to (-1: none)");
  app.add_option("--gen-cpu", genCpu, "CPU the generator is pinned to (-1: none)");
  app.add_option("--video-bitrate", videoBitrate, "per simulated participant, bits/s");
  app.add_option("--json", jsonPath, "write the result here");
  app.add_flag("--quiet", quiet, "no per-second progress");
  CLI11_PARSE(app, argc, argv);

  const int relayFd = openLoopbackUdp();
  const int sendFd = openLoopbackUdp();
  std::vector<int> receivers;
  std::vector<sockaddr_in> destinations;
  for (size_t i = 0; i < fanout; ++i) {
    receivers.push_back(openLoopbackUdp());
    destinations.push_back(localAddress(receivers.back()));
  }
  if (relayFd < 0 || sendFd < 0 || receivers.back() < 0) {
    std::perror("socket");
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    struct sigaction sa {};
    sa.sa_handler = onTerm;
    sigaction(SIGTERM, &sa, nullptr);
    if (relayCpu >= 0) pinToCpu(relayCpu);
    const auto stats = runCeilingRelay(relayFd, destinations, gStop);
    if (!quiet)
      std::fprintf(stderr, "  relay: received %llu, sent %llu, send drops %llu\n",
                   static_cast<unsigned long long>(stats.received),
                   static_cast<unsigned long long>(stats.sent),
                   static_cast<unsigned long long>(stats.sendErrors));
    _exit(0);
  }
  const sockaddr_in relayAddress = localAddress(relayFd);
  close(relayFd);

  UdpLoadOptions o;
  o.model.videoBitrate = videoBitrate;
  o.unpaced = rate <= 0;
  o.model = o.model.scaledTo(rate > 0 ? rate : 1e6);
  o.durationS = duration;
  o.cpu = genCpu;
  o.relayPid = child;
  o.progress = !quiet;
  usleep(100'000);  // the child is pinned and polling
  if (!quiet) {
    std::fprintf(
        stderr, "ceiling: fan-out %zu, %s, %u simulated participants, %.0f s\n", fanout,
        o.unpaced ? "unpaced" : (std::to_string(static_cast<long>(rate)) + " pkt/s").c_str(),
        o.model.participants, duration);
  }
  const auto r = runUdpLoad(o, sendFd, relayAddress, receivers);
  kill(child, SIGTERM);
  int status = 0;
  waitpid(child, &status, 0);

  auto j = r.toJson(fanout);
  j["kind"] = "ceiling";
  j["fanout"] = fanout;
  j["target_pps"] = rate;
  j["unpaced"] = o.unpaced;
  j["participants"] = o.model.participants;
  j["relay_cpu"] = relayCpu;
  j["generator_cpu"] = genCpu;
  j["latency_cdf"] = r.latency.cdf(100);
  const auto text = j.dump(2);
  if (!jsonPath.empty()) std::ofstream(jsonPath) << text << '\n';
  if (!quiet) {
    std::fprintf(stderr,
                 "ceiling K=%zu: offered %.0f pkt/s, forwarded %.0f pkt/s, loss %.3f%%, relay "
                 "%.3f CPU s -> %.0f fwd pkt per CPU-s, latency p50 %.0f us p99 %.0f us\n",
                 fanout, j["offered_pps"].get<double>(), j["forwarded_pps"].get<double>(),
                 100 * j["loss"].get<double>(), r.relayCpuSeconds,
                 j["forwarded_per_cpu_second"].get<double>(), r.latency.percentileUs(0.5),
                 r.latency.percentileUs(0.99));
  }
  if (jsonPath.empty()) std::cout << text << '\n';
  return 0;
}

// medrelay-load: WebRTC participants against a real medrelay. Starts medrelay on loopback (or
// attaches to --url), creates rooms of doctor/patient(/nurse) through the REST API, publishes
// audio+video over WHIP and subscribes to every other participant over WHEP (ICE, DTLS, SRTP),
// sends paced RTP carrying a sequence and send time, and measures what the relay forwards: loss,
// latency, join time, packets/s, relay CPU-seconds per forwarded packet and RSS.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/load_stats.h"
#include "bench/load/rtp_traffic.h"
#include "bench/load/webrtc_peer.h"
#include "media/dtls_certificate.h"
#include "media/dtls_context.h"
#include "media/srtp_session.h"
#include "net/dispatcher.h"
#include "tests/support/api_client.h"

namespace fs = std::filesystem;
using medrelay::test::ApiClient;
using medrelay::test::ApiResponse;

namespace medrelay::bench {
namespace {

struct Config {
  std::string medrelay;
  std::string url;
  std::string apiKey;
  int workers = 1;
  int rooms = 1;
  int participants = 3;
  double duration = 10;
  int audioPps = 50;
  int videoKbps = 600;
  int relayCpu = -1;
  int genCpu = -1;
  double maxLoss = 0.05;
  std::string json;
  bool quiet = false;
};

// medrelay started by us, stderr to a file in its temp dir; SIGTERM on destruction.
class RelayProcess {
 public:
  ~RelayProcess() { stop(); }
  bool start(const Config& c) {
    char tmpl[] = "/tmp/medrelay-load-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return false;
    dir_ = tmpl;
    const std::string data = dir_ + "/data";
    const std::string log = dir_ + "/medrelay.log";
    std::vector<std::string> args = {c.medrelay,
                                     "--set",
                                     "storage.data_dir=" + data,
                                     "--set",
                                     "http.listen=127.0.0.1:0",
                                     "--set",
                                     "media.udp_port=0",
                                     "--set",
                                     "media.tcp_port=0",
                                     "--set",
                                     "media.workers=" + std::to_string(c.workers),
                                     "--set",
                                     "turn.enabled=false"};
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
    if (c.relayCpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(c.relayCpu, &set);
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
  void stop() {
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
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
  }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& apiKey() const { return apiKey_; }

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string apiKey_;
};

std::string randomToken(size_t n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static std::mt19937 rng{std::random_device{}()};
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kChars[rng() % (sizeof kChars - 1)];
  return s;
}

std::string nowIso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// One subscription: which publisher it receives and what arrived.
struct Subscription {
  uint32_t publisher = 0;
  std::unique_ptr<WebRtcPeer> peer;
  LossCounter loss;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct Participant {
  std::string role;
  std::string token;
  std::string inviteId;
  std::string roomId;
  uint64_t whipPostNs = 0;
  uint64_t firstForwardedNs = 0;
  std::unique_ptr<WebRtcPeer> publisher;
};

size_t rtpHeaderLength(const uint8_t* d, size_t len) {
  size_t h = 12 + 4 * static_cast<size_t>(d[0] & 0x0f);
  if ((d[0] & 0x10) != 0 && len >= h + 4) {
    h += 4 + 4 * ((static_cast<size_t>(d[h + 2]) << 8) | d[h + 3]);
  }
  return h;
}

// A POST with the given bearer; prints and returns nothing on a non-2xx answer.
std::optional<ApiResponse> post(uint16_t port, const std::string& bearer, const std::string& path,
                                const std::string& body, const std::string& type) {
  ApiClient c(port, bearer);
  ApiResponse r = c.request("POST", path, body, type);
  if (r.status < 200 || r.status > 299) {
    std::fprintf(stderr, "medrelay-load: POST %s -> %d %s\n", path.c_str(), r.status,
                 r.body.substr(0, 300).c_str());
    return std::nullopt;
  }
  return r;
}

uint16_t portFromUrl(const std::string& url) {
  auto colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<uint16_t>(std::atoi(url.c_str() + colon + 1));
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

int run(const Config& cfg) {
  if (!media::srtpInit()) return 2;
  RelayProcess relay;
  uint16_t port = 0;
  std::string apiKey = cfg.apiKey;
  pid_t relayPid = -1;
  if (cfg.url.empty()) {
    if (!relay.start(cfg)) {
      std::fprintf(stderr, "medrelay-load: could not start %s\n", cfg.medrelay.c_str());
      return 2;
    }
    port = relay.port();
    apiKey = relay.apiKey();
    relayPid = relay.pid();
  } else {
    port = portFromUrl(cfg.url);
  }
  if (cfg.genCpu >= 0) pinToCpu(cfg.genCpu);

  auto cert = media::DtlsCertificate::generate();
  if (!cert) return 2;
  auto dtls = media::DtlsContext::create(cert.value());
  if (!dtls) return 2;
  const std::string fingerprint = cert.value()->sdpFingerprint();
  net::Dispatcher loop("load");

  // REST: rooms, invites, admission.
  static const char* kRoles[] = {"doctor", "patient", "nurse"};
  const int m = std::clamp(cfg.participants, 2, 3);
  std::vector<Participant> people;
  for (int r = 0; r < cfg.rooms; ++r) {
    nlohmann::json room = {{"mode", m == 3 ? "d2p_with_n" : "d2p"},
                           {"scheduled_start", "now"},
                           {"institution_id", "load"},
                           {"institution_contact", "03-0000-0000"},
                           {"doctor_display_name", "Dr. Load"}};
    auto rr = post(port, apiKey, "/v1/rooms", room.dump(), "application/json");
    if (!rr) return 2;
    const std::string roomId = rr->json()["id"];
    for (int k = 0; k < m; ++k) {
      nlohmann::json inv = {{"role", kRoles[k]},
                            {"subject", "load-" + std::to_string(r) + "-" + std::to_string(k)}};
      if (k == 2) {
        inv["consent"] = {{"given_by", "load-" + std::to_string(r) + "-1"},
                          {"given_at", nowIso()},
                          {"role", "nurse"}};
      }
      auto ir =
          post(port, apiKey, "/v1/rooms/" + roomId + "/invites", inv.dump(), "application/json");
      if (!ir) return 2;
      Participant p;
      p.role = kRoles[k];
      p.roomId = roomId;
      p.token = ir->json()["token"];
      p.inviteId = ir->json()["id"];
      people.push_back(std::move(p));
    }
    if (!post(port, apiKey, "/v1/rooms/" + roomId + "/admit", "{}", "application/json")) return 2;
  }

  const uint32_t streams = static_cast<uint32_t>(people.size() * 2);
  LatencyHistogram latency;
  std::vector<std::unique_ptr<Subscription>> subs;
  // Publishers first (WHIP), then every subscription to the others in the room (WHEP).
  for (uint32_t i = 0; i < people.size(); ++i) {
    Participant& p = people[i];
    const std::string ufrag = randomToken(8);
    const std::string pwd = randomToken(24);
    p.publisher = std::make_unique<WebRtcPeer>(loop, *dtls.value(), ufrag, pwd);
    if (!p.publisher->openSocket()) return 2;
    p.whipPostNs = monotonicNs();
    auto r = post(port, p.token, "/v1/rooms/" + p.roomId + "/whip",
                  writeOffer(true, ufrag, pwd, fingerprint, 0x1000 + 2 * i, 0x1001 + 2 * i),
                  "application/sdp");
    if (!r) return 2;
    auto answer = parseAnswer(r->body);
    if (!answer || !p.publisher->start(*answer)) {
      std::fprintf(stderr, "medrelay-load: bad WHIP answer:\n%s\n", r->body.c_str());
      return 2;
    }
  }
  for (uint32_t i = 0; i < people.size(); ++i) {
    for (uint32_t j = 0; j < people.size(); ++j) {
      if (i == j || people[i].roomId != people[j].roomId) continue;
      auto s = std::make_unique<Subscription>();
      s->publisher = j;
      s->loss.resize(streams);
      const std::string ufrag = randomToken(8);
      const std::string pwd = randomToken(24);
      s->peer = std::make_unique<WebRtcPeer>(loop, *dtls.value(), ufrag, pwd);
      if (!s->peer->openSocket()) return 2;
      auto r = post(port, people[i].token,
                    "/v1/rooms/" + people[i].roomId + "/whep?participant=" + people[j].inviteId,
                    writeOffer(false, ufrag, pwd, fingerprint, 0, 0), "application/sdp");
      if (!r) return 2;
      auto answer = parseAnswer(r->body);
      if (!answer || !s->peer->start(*answer)) {
        std::fprintf(stderr, "medrelay-load: bad WHEP answer:\n%s\n", r->body.c_str());
        return 2;
      }
      Subscription* sp = s.get();
      s->peer->setMediaHandler([&, sp](const uint8_t* d, size_t len) {
        const uint64_t now = monotonicNs();
        const size_t h = rtpHeaderLength(d, len);
        if (h >= len) return;
        auto stamp = PayloadStamp::read(d + h, len - h);
        if (!stamp || stamp->stream >= streams) return;
        ++sp->packets;
        sp->bytes += len;
        sp->loss.onPacket(stamp->stream, stamp->sequence);
        latency.add(now - stamp->sendNs);
        Participant& from = people[stamp->stream / 2];
        if (from.firstForwardedNs == 0) from.firstForwardedNs = now;
      });
      subs.push_back(std::move(s));
    }
  }

  // Wait for every peer to connect, then send for --duration, then drain.
  TrafficModel model;
  model.participants = static_cast<uint32_t>(people.size());
  model.audio = cfg.audioPps > 0;
  model.video = cfg.videoKbps > 0;
  model.videoBitrate = static_cast<uint32_t>(cfg.videoKbps) * 1000;
  std::unique_ptr<TrafficSchedule> schedule;
  enum class Phase { kConnecting, kSending, kDraining } phase = Phase::kConnecting;
  const uint64_t setupStartNs = monotonicNs();
  uint64_t sendStartNs = 0;
  uint64_t sendEndNs = 0;
  uint64_t nextProgressNs = 0;
  uint64_t sent = 0;
  uint64_t sendFailed = 0;
  bool connectFailed = false;
  ProcUsage cpuStart;
  ProcUsage cpuEnd;
  std::vector<ScheduledPacket> due(256);
  std::vector<uint8_t> buf(2048);
  auto allConnected = [&] {
    for (auto& p : people) {
      if (!p.publisher->connected()) return false;
    }
    for (auto& s : subs) {
      if (!s->peer->connected()) return false;
    }
    return true;
  };
  auto forwardedSoFar = [&] {
    uint64_t n = 0;
    for (auto& s : subs) n += s->packets;
    return n;
  };
  net::Timer tick(loop, [&] {
    const uint64_t now = monotonicNs();
    if (phase == Phase::kConnecting) {
      if (allConnected()) {
        phase = Phase::kSending;
        sendStartNs = now;
        nextProgressNs = now + 1'000'000'000ULL;
        schedule = std::make_unique<TrafficSchedule>(model, now);
        if (relayPid > 0) cpuStart = readProcUsage(relayPid).value_or(ProcUsage{});
        if (!cfg.quiet) {
          std::fprintf(stderr,
                       "medrelay-load: %zu publishers, %zu subscriptions connected in %.0f ms\n",
                       people.size(), subs.size(), static_cast<double>(now - setupStartNs) / 1e6);
        }
      } else if (now - setupStartNs > 20'000'000'000ULL) {
        connectFailed = true;
        loop.stop();
      }
      return;
    }
    if (phase == Phase::kSending) {
      size_t n;
      do {
        n = schedule->due(now, due.data(), due.size());
        for (size_t k = 0; k < n; ++k) {
          const ScheduledPacket& sp = due[k];
          const bool video = (sp.stream & 1) != 0;
          writeRtpPacket(buf.data(), sp, 0x1000 + sp.stream, video ? 96 : 111, monotonicNs());
          if (people[sp.stream / 2].publisher->sendRtp(buf.data(), sp.size, buf.size())) {
            ++sent;
          } else {
            ++sendFailed;
          }
        }
      } while (n == due.size());
      if (now >= nextProgressNs) {
        nextProgressNs += 1'000'000'000ULL;
        if (!cfg.quiet) {
          std::fprintf(stderr, "medrelay-load: t=%.0fs sent %lu forwarded %lu\n",
                       static_cast<double>(now - sendStartNs) / 1e9,
                       static_cast<unsigned long>(sent),
                       static_cast<unsigned long>(forwardedSoFar()));
        }
      }
      if (now - sendStartNs >= static_cast<uint64_t>(cfg.duration * 1e9)) {
        phase = Phase::kDraining;
        sendEndNs = now;
      }
      return;
    }
    if (now - sendEndNs >= 300'000'000ULL) {
      if (relayPid > 0) cpuEnd = readProcUsage(relayPid).value_or(ProcUsage{});
      loop.stop();
    }
  });
  tick.start(std::chrono::milliseconds(1), std::chrono::milliseconds(1));
  loop.run();
  tick.stop();

  if (connectFailed) {
    size_t pubs = 0, subsOk = 0;
    for (auto& p : people) pubs += p.publisher->connected() ? 1 : 0;
    for (auto& s : subs) subsOk += s->peer->connected() ? 1 : 0;
    std::fprintf(stderr,
                 "medrelay-load: only %zu/%zu publishers and %zu/%zu subscriptions "
                 "connected within 20 s\n",
                 pubs, people.size(), subsOk, subs.size());
    return 1;
  }

  // Results.
  const double seconds = static_cast<double>(sendEndNs - sendStartNs) / 1e9;
  uint64_t received = 0, bytes = 0, lost = 0, unprotectFailures = 0;
  size_t silent = 0;
  for (auto& s : subs) {
    received += s->packets;
    bytes += s->bytes;
    lost += s->loss.lost();
    unprotectFailures += s->peer->unprotectFailures();
    if (s->packets == 0) ++silent;
  }
  const double loss =
      received + lost == 0 ? 1.0 : static_cast<double>(lost) / static_cast<double>(received + lost);
  std::vector<double> joins;
  for (auto& p : people) {
    if (p.firstForwardedNs != 0) {
      joins.push_back(static_cast<double>(p.firstForwardedNs - p.whipPostNs) / 1e6);
    }
  }
  const double relayCpu = cpuEnd.cpuSeconds - cpuStart.cpuSeconds;
  nlohmann::json out = {
      {"tool", "medrelay-load"},
      {"workers", cfg.workers},
      {"rooms", cfg.rooms},
      {"participants_per_room", m},
      {"publishers", people.size()},
      {"subscriptions", subs.size()},
      {"duration_s", seconds},
      {"audio_pps", model.audio ? 50 : 0},
      {"video_kbps", cfg.videoKbps},
      {"sent_packets", sent},
      {"send_failed", sendFailed},
      {"forwarded_packets", received},
      {"forwarded_bytes", bytes},
      {"forwarded_pps", static_cast<double>(received) / seconds},
      {"forwarded_bytes_per_s", static_cast<double>(bytes) / seconds},
      {"expected_forwarded", sent * static_cast<uint64_t>(m - 1)},
      {"lost_packets", lost},
      {"loss", loss},
      {"subscriptions_without_media", silent},
      {"srtp_unprotect_failures", unprotectFailures},
      {"latency", latency.summary()},
      {"latency_cdf", latency.cdf()},
      {"join_ms_p50", percentile(joins, 0.5)},
      {"join_ms_max", joins.empty() ? 0 : *std::max_element(joins.begin(), joins.end())},
      {"publishers_forwarded", joins.size()},
  };
  if (relayPid > 0) {
    out["relay_cpu_seconds"] = relayCpu;
    out["relay_cpu_per_forwarded_packet_us"] =
        received == 0 ? 0.0 : relayCpu * 1e6 / static_cast<double>(received);
    out["forwarded_per_cpu_second"] = relayCpu > 0 ? static_cast<double>(received) / relayCpu : 0;
    out["relay_rss_bytes"] = cpuEnd.rssBytes;
    out["relay_peak_rss_bytes"] = cpuEnd.peakRssBytes;
  }
  if (!cfg.json.empty()) {
    std::error_code ec;
    const fs::path parent = fs::path(cfg.json).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    std::ofstream(cfg.json) << out.dump(2) << "\n";
  }
  if (!cfg.quiet) {
    std::fprintf(stderr,
                 "medrelay-load: forwarded %.0f pkt/s (%.2f MB/s), loss %.3f %%, latency p50 %.0f "
                 "p99 %.0f max %.0f us, join p50 %.0f ms, relay CPU %.2f s (%.1f us/pkt), "
                 "RSS %.1f MB\n",
                 static_cast<double>(received) / seconds,
                 static_cast<double>(bytes) / seconds / 1e6, loss * 100, latency.percentileUs(0.5),
                 latency.percentileUs(0.99), latency.maxUs(), percentile(joins, 0.5), relayCpu,
                 received == 0 ? 0.0 : relayCpu * 1e6 / static_cast<double>(received),
                 static_cast<double>(cpuEnd.rssBytes) / 1e6);
  }
  if (silent > 0 || loss >= cfg.maxLoss) {
    std::fprintf(stderr, "medrelay-load: FAIL: %zu subscriptions received nothing, loss %.3f %%\n",
                 silent, loss * 100);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace medrelay::bench

int main(int argc, char** argv) {
  medrelay::bench::Config cfg;
  CLI::App app{"medrelay-load: WebRTC participants (WHIP/WHEP, ICE, DTLS, SRTP) against medrelay"};
  app.add_option("--medrelay", cfg.medrelay, "medrelay binary to start on loopback");
  app.add_option("--url", cfg.url, "attach to a running medrelay (http://127.0.0.1:PORT)");
  app.add_option("--api-key", cfg.apiKey, "backend API key (with --url)");
  app.add_option("--workers", cfg.workers, "media.workers of the started medrelay");
  app.add_option("--rooms", cfg.rooms, "rooms");
  app.add_option("--participants", cfg.participants, "participants per room (2 or 3)");
  app.add_option("--duration", cfg.duration, "seconds of media");
  app.add_option("--audio-pps", cfg.audioPps, "audio packets/s per participant (50, or 0 = none)");
  app.add_option("--video-kbps", cfg.videoKbps, "video bitrate per participant (0 = none)");
  app.add_option("--relay-cpu", cfg.relayCpu, "pin medrelay to this CPU (-1 = no)");
  app.add_option("--gen-cpu", cfg.genCpu, "pin the generator to this CPU (-1 = no)");
  app.add_option("--max-loss", cfg.maxLoss, "exit 1 at or above this loss fraction");
  app.add_option("--json", cfg.json, "write the result here");
  app.add_flag("--quiet", cfg.quiet, "no progress lines");
  CLI11_PARSE(app, argc, argv);
  if (cfg.medrelay.empty() == cfg.url.empty()) {
    std::fprintf(stderr, "medrelay-load: give exactly one of --medrelay and --url\n");
    return 2;
  }
  if (cfg.audioPps != 0 && cfg.audioPps != 50) {
    std::fprintf(stderr, "medrelay-load: --audio-pps is 50 (Opus 20 ms) or 0\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  return medrelay::bench::run(cfg);
}

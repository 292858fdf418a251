// medrelay-load: WebRTC participants against a real medrelay. Starts medrelay on loopback (or
// attaches to --url), creates rooms of doctor/patient(/nurse) through the REST API, publishes
// audio+video over WHIP and subscribes to every other participant over WHEP (ICE, DTLS, SRTP),
// sends paced RTP carrying a sequence and send time, and measures what the relay forwards: loss,
// latency, join time, packets/s, relay CPU-seconds per forwarded packet and RSS. One fixed load,
// or --sweep: find the saturation point, then measure at 25/50/75/100 % of it (sweep_plan.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/load/load_rest.h"
#include "bench/load/load_stats.h"
#include "bench/load/relay_process.h"
#include "bench/load/rtp_traffic.h"
#include "bench/load/sweep_plan.h"
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
  // --sweep: search the saturation point, then measure at 25/50/75/100 % of it.
  bool sweep = false;
  // --turn: every participant reaches the SFU through medrelay's TURN (UDP, one channel each).
  bool turn = false;
  bool turnLocalPath = true;
  int startKbps = 2000;
  double searchFactor = 2.0;
  int refineSteps = 2;
  double saturationLoss = 0.01;
  double searchStep = 1.5;
  double settle = 0.5;
};

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
  std::string ip = "127.0.0.1";  // its sockets' source address
  std::optional<TurnClient::Server> turn;
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
    uint16_t turnPort = 0;
    if (cfg.turn && (turnPort = freeUdpPort()) == 0) return 2;
    if (!relay.start({cfg.medrelay, cfg.workers, cfg.relayCpu, turnPort, cfg.turnLocalPath})) {
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
  if (cfg.turn) {
    // Each participant's own credential (/ice-servers) and source address: medrelay's TURN
    // quotas are per user and per source, as for real participants on their own hosts.
    for (size_t i = 0; i < people.size(); ++i) {
      Participant& p = people[i];
      p.ip = "127.0.0." + std::to_string(2 + i % 250);
      auto server = turnServerFor(port, p.token, p.roomId);
      if (!server) return 2;
      p.turn = std::move(server);
    }
  }

  const uint32_t streams = static_cast<uint32_t>(people.size() * 2);
  auto latency = std::make_unique<LatencyHistogram>();
  std::vector<std::unique_ptr<Subscription>> subs;
  // Publishers first (WHIP), then every subscription to the others in the room (WHEP).
  for (uint32_t i = 0; i < people.size(); ++i) {
    Participant& p = people[i];
    const std::string ufrag = randomToken(8);
    const std::string pwd = randomToken(24);
    p.publisher = std::make_unique<WebRtcPeer>(loop, *dtls.value(), ufrag, pwd);
    if (!p.publisher->openSocket(p.ip)) return 2;
    if (p.turn) p.publisher->useTurn(*p.turn);
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
      if (!s->peer->openSocket(people[i].ip)) return 2;
      if (people[i].turn) s->peer->useTurn(*people[i].turn);
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
        if (h + kPayloadPrefix >= len) return;
        auto stamp = PayloadStamp::read(d + h + kPayloadPrefix, len - h - kPayloadPrefix);
        if (!stamp || stamp->stream >= streams) return;
        ++sp->packets;
        sp->bytes += len;
        sp->loss.onPacket(stamp->stream, stamp->sequence);
        latency->add(now - stamp->sendNs);
        Participant& from = people[stamp->stream / 2];
        if (from.firstForwardedNs == 0) from.firstForwardedNs = now;
      });
      subs.push_back(std::move(s));
    }
  }

  // Wait for every peer to connect, then run the plan's steps (one fixed load, or the sweep),
  // then drain.
  const uint32_t fanOut = static_cast<uint32_t>(m - 1);
  TrafficModel model;
  model.participants = static_cast<uint32_t>(people.size());
  model.audio = cfg.audioPps > 0;
  model.video = cfg.sweep || cfg.videoKbps > 0;
  model.videoBitrate = static_cast<uint32_t>(cfg.videoKbps) * 1000;
  auto offeredAt = [model, fanOut](uint32_t kbps) {
    TrafficModel mm = model;
    mm.videoBitrate = kbps * 1000;
    return mm.packetsPerSecondPerParticipant() * mm.participants * fanOut;
  };
  SweepPlan plan = SweepPlan::fixed(static_cast<uint32_t>(cfg.videoKbps), cfg.duration);
  if (cfg.sweep) {
    SweepPlan::Options o;
    o.startKbps = static_cast<uint32_t>(cfg.startKbps);
    o.factor = cfg.searchFactor;
    o.refineSteps = cfg.refineSteps;
    o.maxLoss = cfg.saturationLoss;
    o.cpuLimit = relayPid > 0 && cfg.relayCpu >= 0 ? 1.0 : 0.0;
    o.searchS = cfg.searchStep;
    o.settleS = cfg.settle;
    o.measureS = cfg.duration;
    plan = SweepPlan(o, offeredAt);
  }
  std::unique_ptr<TrafficSchedule> schedule;
  enum class Phase { kConnecting, kSending, kDraining } phase = Phase::kConnecting;
  const uint64_t setupStartNs = monotonicNs();
  uint64_t sendStartNs = 0;
  uint64_t sendEndNs = 0;
  uint64_t nextProgressNs = 0;
  uint64_t sent = 0;
  uint64_t sendFailed = 0;
  bool connectFailed = false;
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
  auto bytesSoFar = [&] {
    uint64_t n = 0;
    for (auto& s : subs) n += s->bytes;
    return n;
  };
  auto cpuOf = [](pid_t pid) {
    return pid > 0 ? readProcUsage(pid).value_or(ProcUsage{}).cpuSeconds : 0.0;
  };

  // The running step and its measured window.
  struct Window {
    uint64_t startNs = 0;
    uint64_t sent = 0;
    uint64_t forwarded = 0;
    uint64_t bytes = 0;
    double relayCpu = 0;
    double genCpu = 0;
  };
  std::optional<LoadStep> step;
  uint64_t stepStartNs = 0;
  bool measuring = false;
  Window window;
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json mainStep;  // the fixed step, or the sweep's 100 % step
  ProcUsage relayEnd;
  auto beginStep = [&](uint64_t now) {
    step = plan.next();
    if (!step) return false;
    schedule->setVideoBitrate(step->videoKbps * 1000);
    stepStartNs = now;
    measuring = false;
    return true;
  };
  auto endStep = [&](uint64_t now) {
    const double seconds = static_cast<double>(now - window.startNs) / 1e9;
    const double relayCpu = cpuOf(relayPid) - window.relayCpu;
    const double genCpu = cpuOf(::getpid()) - window.genCpu;
    const uint64_t stepSent = sent - window.sent;
    const uint64_t forwarded = forwardedSoFar() - window.forwarded;
    const double expected = static_cast<double>(stepSent) * fanOut;
    StepOutcome o;
    o.offeredPps = offeredAt(step->videoKbps);
    o.forwardedPps = static_cast<double>(forwarded) / seconds;
    o.loss = expected > 0 ? std::max(0.0, 1.0 - static_cast<double>(forwarded) / expected) : 1.0;
    o.relayCpuUtil = relayPid > 0 ? relayCpu / seconds : -1;
    const bool saturated = plan.saturated(o);
    nlohmann::json r = {
        {"phase", LoadStep::phaseName(step->phase)},
        {"load_pct", step->loadPct},
        {"video_kbps", step->videoKbps},
        {"duration_s", seconds},
        {"offered_pps", o.offeredPps},
        {"sent_pps", static_cast<double>(stepSent) / seconds},
        {"forwarded_pps", o.forwardedPps},
        {"forwarded_bytes_per_s", static_cast<double>(bytesSoFar() - window.bytes) / seconds},
        {"loss", o.loss},
        {"latency", latency->summary()},
        {"generator_cpu_util", genCpu / seconds},
        {"saturated", saturated},
    };
    if (step->phase != LoadStep::Phase::kSearch) r["latency_cdf"] = latency->cdf();
    if (relayPid > 0) {
      r["relay_cpu_seconds"] = relayCpu;
      r["relay_cpu_util"] = o.relayCpuUtil;
      r["forwarded_per_cpu_second"] =
          relayCpu > 0 ? static_cast<double>(forwarded) / relayCpu : 0.0;
      r["relay_cpu_per_forwarded_packet_us"] =
          forwarded == 0 ? 0.0 : relayCpu * 1e6 / static_cast<double>(forwarded);
    }
    if (!cfg.quiet) {
      std::fprintf(stderr,
                   "medrelay-load: %-6s %3d %% video %6u kbit/s: offered %7.0f forwarded %7.0f "
                   "pkt/s, loss %.2f %%, p50/p99 %.0f/%.0f us, relay CPU %.0f %%, generator "
                   "CPU %.0f %%%s\n",
                   LoadStep::phaseName(step->phase), step->loadPct, step->videoKbps, o.offeredPps,
                   o.forwardedPps, o.loss * 100, latency->percentileUs(0.5),
                   latency->percentileUs(0.99), o.relayCpuUtil * 100, genCpu / seconds * 100,
                   saturated ? "  (saturated)" : "");
    }
    if (step->phase == LoadStep::Phase::kFixed ||
        (step->phase == LoadStep::Phase::kSweep && step->loadPct == 100)) {
      mainStep = r;
    }
    steps.push_back(std::move(r));
    plan.report(o);
  };

  net::Timer tick(loop, [&] {
    const uint64_t now = monotonicNs();
    if (phase == Phase::kConnecting) {
      if (allConnected()) {
        phase = Phase::kSending;
        sendStartNs = now;
        nextProgressNs = now + 1'000'000'000ULL;
        schedule = std::make_unique<TrafficSchedule>(model, now);
        if (!cfg.quiet) {
          std::fprintf(stderr,
                       "medrelay-load: %zu publishers, %zu subscriptions connected in %.0f ms\n",
                       people.size(), subs.size(), static_cast<double>(now - setupStartNs) / 1e6);
        }
        beginStep(now);
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
      if (!measuring && now - stepStartNs >= static_cast<uint64_t>(step->settleS * 1e9)) {
        measuring = true;
        window = {now, sent, forwardedSoFar(), bytesSoFar(), cpuOf(relayPid), cpuOf(::getpid())};
        latency = std::make_unique<LatencyHistogram>();
      } else if (measuring && now - window.startNs >= static_cast<uint64_t>(step->measureS * 1e9)) {
        endStep(now);
        if (!beginStep(now)) {
          phase = Phase::kDraining;
          sendEndNs = now;
        }
      }
      if (!cfg.sweep && now >= nextProgressNs) {
        nextProgressNs += 1'000'000'000ULL;
        if (!cfg.quiet) {
          std::fprintf(stderr, "medrelay-load: t=%.0fs sent %lu forwarded %lu\n",
                       static_cast<double>(now - sendStartNs) / 1e9,
                       static_cast<unsigned long>(sent),
                       static_cast<unsigned long>(forwardedSoFar()));
        }
      }
      return;
    }
    if (now - sendEndNs >= 300'000'000ULL) {
      if (relayPid > 0) relayEnd = readProcUsage(relayPid).value_or(ProcUsage{});
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
    for (auto& p : people) {
      const TurnClient* t = p.publisher->turn();
      if (t && t->failed()) {
        std::fprintf(stderr, "medrelay-load: TURN: %s\n", t->failure().c_str());
        break;
      }
    }
    return 1;
  }

  // Results: the whole run (stamp-based loss, join times), the main step at the top level.
  size_t turnChannels = 0;  // peers whose traffic went through a bound TURN channel
  for (auto& p : people) turnChannels += p.publisher->turn() && p.publisher->turn()->ready();
  for (auto& s : subs) turnChannels += s->peer->turn() && s->peer->turn()->ready();
  if (cfg.turn && turnChannels != people.size() + subs.size()) {
    std::fprintf(stderr, "medrelay-load: FAIL: %zu of %zu peers have a TURN channel\n",
                 turnChannels, people.size() + subs.size());
    return 1;
  }
  uint64_t received = 0, lost = 0, unprotectFailures = 0;
  size_t silent = 0;
  for (auto& s : subs) {
    received += s->packets;
    lost += s->loss.lost();
    unprotectFailures += s->peer->unprotectFailures();
    if (s->packets == 0) ++silent;
  }
  const double stampedLoss =
      received + lost == 0 ? 1.0 : static_cast<double>(lost) / static_cast<double>(received + lost);
  std::vector<double> joins;
  for (auto& p : people) {
    if (p.firstForwardedNs != 0) {
      joins.push_back(static_cast<double>(p.firstForwardedNs - p.whipPostNs) / 1e6);
    }
  }
  nlohmann::json out = {
      {"tool", "medrelay-load"},
      {"mode", cfg.sweep ? "sweep" : "fixed"},
      {"workers", cfg.workers},
      {"rooms", cfg.rooms},
      {"participants_per_room", m},
      {"publishers", people.size()},
      {"subscriptions", subs.size()},
      {"audio_pps", model.audio ? 50 : 0},
      {"through_turn", cfg.turn},
      {"turn_local_sfu_path", cfg.turn && cfg.turnLocalPath},
      {"turn_channels", turnChannels},
      {"relay_cpu_pinned", cfg.relayCpu},
      {"generator_cpu_pinned", cfg.genCpu},
      {"run_seconds", static_cast<double>(sendEndNs - sendStartNs) / 1e9},
      {"sent_packets", sent},
      {"send_failed", sendFailed},
      {"forwarded_packets", received},
      {"expected_forwarded", sent * static_cast<uint64_t>(fanOut)},
      {"lost_packets_stamped", lost},
      {"loss_stamped", stampedLoss},
      {"subscriptions_without_media", silent},
      {"srtp_unprotect_failures", unprotectFailures},
      {"join_ms_p50", percentile(joins, 0.5)},
      {"join_ms_max", joins.empty() ? 0 : *std::max_element(joins.begin(), joins.end())},
      {"publishers_forwarded", joins.size()},
      {"steps", steps},
  };
  if (cfg.sweep) {
    out["saturation"] = {{"video_kbps", plan.saturationKbps()},
                         {"offered_pps", plan.saturationOfferedPps()},
                         {"stopped_by", plan.stopReason()}};
  }
  for (const char* k : {"video_kbps", "duration_s", "offered_pps", "sent_pps", "forwarded_pps",
                        "forwarded_bytes_per_s", "loss", "latency", "latency_cdf",
                        "relay_cpu_seconds", "relay_cpu_util", "forwarded_per_cpu_second",
                        "relay_cpu_per_forwarded_packet_us", "generator_cpu_util"}) {
    if (mainStep.contains(k)) out[k] = mainStep[k];
  }
  if (relayPid > 0) {
    out["relay_rss_bytes"] = relayEnd.rssBytes;
    out["relay_peak_rss_bytes"] = relayEnd.peakRssBytes;
  }
  if (!cfg.json.empty()) {
    std::error_code ec;
    const fs::path parent = fs::path(cfg.json).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    std::ofstream(cfg.json) << out.dump(2) << "\n";
  }
  if (!cfg.quiet) {
    std::fprintf(stderr,
                 "medrelay-load: join p50 %.0f ms, relay peak RSS %.1f MB, whole-run loss %.3f "
                 "%% (%lu of %lu)\n",
                 percentile(joins, 0.5), static_cast<double>(relayEnd.peakRssBytes) / 1e6,
                 stampedLoss * 100, static_cast<unsigned long>(lost),
                 static_cast<unsigned long>(received + lost));
    if (cfg.sweep) {
      std::fprintf(stderr,
                   "medrelay-load: saturation at %u kbit/s per participant (%.0f pkt/s "
                   "offered), search stopped by %s\n",
                   plan.saturationKbps(), plan.saturationOfferedPps(), plan.stopReason().c_str());
    }
  }
  // A sweep drives the relay into loss on purpose; only a fixed run is judged by its loss.
  if (silent > 0 || (!cfg.sweep && stampedLoss >= cfg.maxLoss)) {
    std::fprintf(stderr, "medrelay-load: FAIL: %zu subscriptions received nothing, loss %.3f %%\n",
                 silent, stampedLoss * 100);
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
  app.add_option("--duration", cfg.duration, "seconds of media measured (per sweep step)");
  app.add_option("--audio-pps", cfg.audioPps, "audio packets/s per participant (50, or 0 = none)");
  app.add_option("--video-kbps", cfg.videoKbps, "video bitrate per participant (0 = none)");
  app.add_option("--relay-cpu", cfg.relayCpu, "pin medrelay to this CPU (-1 = no)");
  app.add_option("--gen-cpu", cfg.genCpu, "pin the generator to this CPU (-1 = no)");
  app.add_option("--max-loss", cfg.maxLoss, "exit 1 at or above this loss fraction");
  app.add_option("--json", cfg.json, "write the result here");
  app.add_flag("--quiet", cfg.quiet, "no progress lines");
  app.add_flag("--sweep", cfg.sweep,
               "search the saturation point (raising the video bitrate), then measure "
               "--duration s each at 25/50/75/100 % of it");
  app.add_flag("--turn", cfg.turn,
               "every participant through medrelay's TURN (UDP allocation + channel to the SFU, "
               "credentials from /ice-servers)");
  app.add_flag("!--no-turn-local-path", cfg.turnLocalPath,
               "with --turn: turn.local_sfu_path=false (TURN reaches the SFU through the kernel)");
  app.add_option("--start-kbps", cfg.startKbps, "sweep: first video bitrate of the search");
  app.add_option("--search-factor", cfg.searchFactor, "sweep: bitrate factor between levels");
  app.add_option("--refine", cfg.refineSteps, "sweep: bisections after the first saturated level");
  app.add_option("--saturation-loss", cfg.saturationLoss,
                 "sweep: a level with more loss than this fraction is saturated");
  app.add_option("--search-step", cfg.searchStep, "sweep: seconds measured per search level");
  app.add_option("--settle", cfg.settle, "sweep: seconds sent before each measured window");
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

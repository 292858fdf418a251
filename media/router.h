#pragma once
// Everything media one worker owns: its WorkerTransport (sockets, demux), DtlsContext, the rooms
// pinned to it and their sessions. Every method runs on the worker's loop; the control thread
// reaches it only through WorkerPool::postTo (docs/media.md).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "media/forwarding_room.h"
#include "media/session_observer.h"

namespace medrelay::media {

class Router final : public ForwardingRoom::Callbacks {
 public:
  struct Options {
    // A session is stale (docs/media.md "Session liveness") when nothing authenticated arrived
    // for staleAfter — a live browser sends audio every 20 ms, RTCP every second and ICE checks
    // every few seconds, so 2 s of silence means the peer is gone or cut off — or, once
    // connected, when no consent check arrived for 2/5 of consentTimeout (12 s: two RFC 7675
    // §5.1 check intervals of 5 s and their jitter).
    std::chrono::milliseconds staleAfter{2000};
    // How often liveness is checked.
    std::chrono::milliseconds livenessInterval{250};
    // Every session's WebRtcTransport::Params::connectTimeout and IceLite consent timeout.
    std::chrono::milliseconds connectTimeout{20000};
    std::chrono::milliseconds consentTimeout{30000};  // RFC 7675 §5.1
    // Every this many 1 s ticks each connected session's SessionQuality goes to the observer.
    int qualityTicks = 2;
    // Audio first (docs/media.md "Subscriber downlink"): a subscriber whose downlink limit stays
    // below this gets no video until probes show the link carries 1.5 × it; 0 never pauses.
    uint64_t videoFloorBps = 100'000;
    // Every session's data channel limits (docs/media.md "Data channels").
    DataChannelLimits dataChannels;
  };

  // `observer` (may be null) hears of every session's liveness on this worker's thread.
  static Result<std::unique_ptr<Router>> create(net::Dispatcher& dispatcher,
                                                const WorkerTransport::Config& transport,
                                                std::shared_ptr<const DtlsCertificate> cert,
                                                metrics::MediaWorkerMetrics& metrics,
                                                SessionObserver* observer, Options options);
  ~Router() override;

  // A session from its negotiated description, in its room (created on first use).
  Result<void> createSession(SessionSpec spec);
  // Ends a session at once (hangup, control-plane termination). False if unknown.
  bool closeSession(const std::string& sessionId);
  // ICE restart; returns the new local ufrag and password.
  Result<std::pair<std::string, std::string>> restartIce(const std::string& sessionId,
                                                         std::string_view remoteUfrag,
                                                         std::string_view remotePassword);
  // Replaces a room's forwarding rules (no-op for a room without sessions).
  void setForwardingRules(const std::string& roomId, ForwardingRules rules);
  // How long until a session counts as stale if nothing more arrives (0: it is stale now;
  // nullopt: no such session).
  std::optional<uint64_t> msUntilStale(const std::string& sessionId);
  const Options& options() const { return options_; }

  WorkerTransport& transport() { return *transport_; }
  DtlsContext& dtls() { return *dtls_; }
  size_t sessionCount() const { return sessions_.size(); }
  size_t roomCount() const { return rooms_.size(); }
  ParticipantSession* session(const std::string& id);

  // ForwardingRoom::Callbacks
  void onSessionConnected(ParticipantSession& session) override;
  void onSessionFailed(ParticipantSession& session, SessionEndReason reason) override;
  void onVideoPaused(ParticipantSession& session, bool paused) override;

 private:
  Router(net::Dispatcher& dispatcher, metrics::MediaWorkerMetrics& metrics,
         SessionObserver* observer, Options options);
  void destroySession(const std::string& id);
  // Reports sessions that went stale or fresh since the last check.
  void checkLiveness();
  uint64_t untilStale(ParticipantSession& session, uint64_t nowMs) const;
  // Copies the demux's, sockets' and listeners' drop counters into metrics_ (once a second).
  void mirrorTransportCounters();
  // Once a second, after the rooms' tick: every qualityTicks, reports and resets each connected
  // session's quality.
  void reportQuality();
  // The session's data channel totals to the observer, if they changed since the last time.
  void reportDataTotals(ParticipantSession& session);

  net::Dispatcher& dispatcher_;
  metrics::MediaWorkerMetrics& metrics_;
  SessionObserver* observer_;
  Options options_;
  std::unique_ptr<WorkerTransport> transport_;
  std::unique_ptr<DtlsContext> dtls_;
  std::unique_ptr<WorkerContext> ctx_;
  std::unordered_map<std::string, std::unique_ptr<ForwardingRoom>> rooms_;
  std::unordered_map<std::string, std::unique_ptr<ParticipantSession>> sessions_;
  std::unique_ptr<net::Timer> tick_;
  std::unique_ptr<net::Timer> liveness_;
  int ticks_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace medrelay::media

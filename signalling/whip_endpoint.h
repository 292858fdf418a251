#pragma once
// The participant-facing WHIP/WHEP signalling (RFC 9725) and the glue between the control plane
// and the media plane: one media::Router (WorkerTransport + rooms) per media worker, and on the
// HTTP router
//   POST   /v1/rooms/{id}/whip                    publish (application/sdp offer → 201 answer)
//   POST   /v1/rooms/{id}/whep?participant=|role= subscribe to one participant's media
//   PATCH  /v1/rooms/{id}/sessions/{session}      trickle / ICE restart (trickle-ice-sdpfrag)
//   DELETE /v1/rooms/{id}/sessions/{session}      leave (hangup)
//   GET    /v1/rooms/{id}/ice-servers             TURN credentials for the invite
// Every request carries `Authorization: Bearer <invite token>`; joins are authorized by
// ConsultationService::authorizeJoin and reported through sessionStarted/sessionEnded. Who may
// receive whom (the waiting room) is decided here with control::canReceive and posted to the
// room's worker as media::ForwardingRules. Runs on the control thread; a room lives on worker
// hash(room) % N (docs/media.md). server::MediaComponent runs it as an App component.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/counters/media_counters.h"
#include "control/cluster/cluster_node.h"
#include "control/cluster/join_ticket.h"
#include "control/consultation_service.h"
#include "media/router.h"
#include "media/sdp/session_description.h"
#include "net/dispatcher.h"
#include "net/http/route_table.h"
#include "net/worker_pool.h"
#include "signalling/forwarding_policy.h"

namespace medrelay::signalling {

class WhipEndpoint final : public control::SessionTerminator {
 public:
  // Where the media workers listen (server::Config::Media).
  struct Options {
    std::string listenIp = "127.0.0.1";
    std::string announcedIp;        // put in ICE candidates instead of listenIp (behind NAT)
    uint16_t udpPort = 0;           // worker i binds udpPort + i; 0: ephemeral ports
    uint16_t tcpPort = 0;           // passive ICE-TCP, worker i binds tcpPort + i; 0: none
    media::Router::Options router;  // session liveness
  };

  // `service` may be set later (setConsultationService) but before start(); without it every
  // signalling request is 503.
  WhipEndpoint(net::Dispatcher& control, net::WorkerPool& workers, net::http::RouteTable& http,
               Options options, control::ConsultationService* service);
  ~WhipEndpoint() override;
  WhipEndpoint(const WhipEndpoint&) = delete;
  WhipEndpoint& operator=(const WhipEndpoint&) = delete;

  void setConsultationService(control::ConsultationService* service);

  // In a cluster (docs/cluster.md): where rooms are placed, how redirect tickets are sealed, and
  // this node's public URL (the 201 Location names it). Before start(); absent: a single node.
  struct Cluster {
    control::cluster::ClusterNode* node = nullptr;
    const control::cluster::TicketSealer* tickets = nullptr;
    std::string publicUrl;
    std::chrono::milliseconds ticketTtl{30000};
    std::function<void()> redirected;  // counts 307s
  };
  void setCluster(const Cluster* cluster) { cluster_ = cluster; }
  // Live sessions on this node (the cluster registry's load).
  size_t sessionCount() const { return sessions_.size(); }
  // Where each worker's packet counters go (default: owned here). Before start().
  void setMetricsProvider(std::function<metrics::MediaWorkerMetrics*(size_t worker)> provider) {
    metricsProvider_ = std::move(provider);
  }

  // Told, on the control thread, how long each session took from its accepted offer to DTLS
  // connected (medrelay_join_duration_seconds). Before start().
  void setJoinObserver(std::function<void(double seconds)> observer) {
    joinObserver_ = std::move(observer);
  }

  // TURN for participants behind firewalls: mints REST credentials for an invite valid until
  // `expiresAtUnix` and returns them as RFC 9725 §4.6 Link header value ("" when TURN is off).
  // Must be thread-safe. Before start().
  struct IceServers {
    std::vector<std::string> urls;
    std::string username;
    std::string credential;
    std::string linkHeader;
  };
  void setIceServerMinter(
      std::function<std::optional<IceServers>(const std::string& inviteId, int64_t expiresAtUnix)>
          minter) {
    iceServerMinter_ = std::move(minter);
  }

  // Creates the routers on their workers (blocking on each) and starts answering.
  Result<void> start();
  // Refuses new joins (503); sessions in flight carry on.
  void drain() { draining_ = true; }
  // Destroys the routers on their workers.
  void stop();

  // control::SessionTerminator: cancel, revoke, window end, takeover.
  void endSession(const std::string& session_id, std::string_view reason) override;
  // control::SessionTerminator: the admission is durable; held subscriptions start flowing
  // (policy rule 6) before the admit call answers.
  void consultationStarted(const std::string& roomId) override;

  // Tests and metrics: worker i's state, read on its loop.
  size_t workerCount() const { return workers_.size(); }
  uint16_t udpPort(size_t worker) const;
  size_t workerFor(const std::string& roomId) const;
  // Runs fn on worker i's loop with its Router and waits (never call from a worker).
  void inspect(size_t worker, const std::function<void(media::Router&)>& fn);
  metrics::MediaWorkerMetrics& workerMetrics(size_t worker) { return *workers_.at(worker).metrics; }

 private:
  // Hears the media plane's liveness reports on worker thread `worker` and posts them to the
  // control thread (onSessionConnected/Stale/Ended below).
  class WorkerObserver final : public media::SessionObserver {
   public:
    WorkerObserver(WhipEndpoint& owner, std::weak_ptr<char> alive)
        : owner_(owner), alive_(std::move(alive)) {}
    void onSessionConnected(const std::string& sessionId) override;
    void onSessionStale(const std::string& sessionId, bool stale) override;
    void onSessionQuality(const std::string& sessionId,
                          const media::SessionQuality& quality) override;
    void onSessionEnded(const std::string& sessionId, media::SessionEndReason reason) override;
    void onVideoPaused(const std::string& sessionId, bool paused) override;
    void onSessionDataTotals(const std::string& sessionId,
                             const media::DataChannelTotals& totals) override;

   private:
    WhipEndpoint& owner_;
    std::weak_ptr<char> alive_;  // the endpoint's; checked on the control thread
  };
  struct Worker {
    std::unique_ptr<WorkerObserver> observer;
    std::unique_ptr<media::Router> router;  // created, used and destroyed on the worker thread
    metrics::MediaWorkerMetrics* metrics = nullptr;
    std::unique_ptr<metrics::MediaWorkerMetrics> ownedMetrics;
    uint16_t udpPort = 0;
    uint16_t tcpPort = 0;
  };
  // What the control thread keeps per live session.
  struct SessionRecord {
    std::string roomId;
    size_t worker = 0;
    bool publish = true;
    std::string tokenDigest;  // SHA-256 of the bearer token that created it
    std::string etag;
    std::string iceUfrag;
    std::string icePwd;
    std::chrono::steady_clock::time_point created{};
  };

  void registerRoutes(net::http::RouteTable& http);
  void handleIceServers(net::http::Request& request, net::http::Responder responder);
  void handleJoin(net::http::Request& request, net::http::Responder responder, bool publish);
  // Cluster: serve the join here if the room is placed here, else 307 to its node.
  void placeThenJoin(control::JoinRequest join, media::SessionSpec spec,
                     media::sdp::SessionDescription offer, net::http::Responder responder);
  void joinHere(control::JoinRequest join, media::SessionSpec spec,
                media::sdp::SessionDescription offer, net::http::Responder responder);
  void handlePatch(net::http::Request& request, net::http::Responder responder);
  void handleDelete(net::http::Request& request, net::http::Responder responder);
  // Looks up the session of a PATCH/DELETE and checks its bearer token; answers errors itself.
  SessionRecord* authorizeSession(const net::http::Request& request,
                                  net::http::Responder& responder);
  void watchRoom(const std::string& roomId);
  // Posts the room's rules as the control plane has them now to the room's worker.
  void applyForwardingRules(const std::string& roomId);
  // On the control thread, from WorkerObserver.
  void onWorkerSessionStale(const std::string& sessionId, bool stale);
  void onWorkerSessionEnded(const std::string& sessionId, media::SessionEndReason reason);
  // A join refused with already_connected: the answer says when the invite's live publish
  // session (found by its token digest) will count as stale (Retry-After, stale_at).
  void answerAlreadyConnected(const Error& error, const std::string& roomId,
                              const std::string& digest, net::http::Responder responder);

  net::Dispatcher& control_;
  net::WorkerPool& pool_;
  Options options_;
  control::ConsultationService* service_ = nullptr;
  const Cluster* cluster_ = nullptr;
  std::function<metrics::MediaWorkerMetrics*(size_t)> metricsProvider_;
  std::function<void(double)> joinObserver_;
  std::function<std::optional<IceServers>(const std::string&, int64_t)> iceServerMinter_;
  std::shared_ptr<const media::DtlsCertificate> certificate_;
  std::vector<Worker> workers_;
  std::map<std::string, SessionRecord> sessions_;  // control thread only
  std::map<std::string, uint64_t> roomWatches_;    // room → event-bus subscription
  // Everyone authorized to join each room: the input of its ForwardingRules.
  std::map<std::string, RoomParticipants> participants_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool started_ = false;
  bool draining_ = false;
};

}  // namespace medrelay::signalling

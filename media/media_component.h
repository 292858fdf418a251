#pragma once
// The media plane as an App component: one Router (WorkerTransport + rooms) per media worker,
// and the participant-facing WHIP/WHEP signalling (RFC 9725) on the HTTP router:
//   POST   /v1/rooms/{id}/whip                    publish (application/sdp offer → 201 answer)
//   POST   /v1/rooms/{id}/whep?participant=|role= subscribe to one participant's media
//   PATCH  /v1/rooms/{id}/sessions/{session}      trickle / ICE restart (trickle-ice-sdpfrag)
//   DELETE /v1/rooms/{id}/sessions/{session}      leave (hangup)
// Every request carries `Authorization: Bearer <invite token>`; joins are authorized by
// ConsultationService::authorizeJoin and reported through sessionStarted/sessionEnded. Handlers
// run on the control thread; a room lives on worker hash(room) % N (docs/media.md).
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/consultation_service.h"
#include "media/router.h"
#include "net/http/router.h"
#include "server/app.h"

namespace medrelay::media {

// control::canReceive for every ordered pair of a room's participants (policy rule 6).
ForwardingRules forwardingRules(const control::Room& room,
                                const std::map<std::string, control::Role>& participants);

class MediaComponent final : public server::App::Component, public control::SessionTerminator {
 public:
  // `service` may be set later (setConsultationService) but before start(); without it every
  // signalling request is 503.
  MediaComponent(server::App& app, net::http::Router& http, control::ConsultationService* service);
  ~MediaComponent() override;

  void setConsultationService(control::ConsultationService* service);
  // Where each worker's packet counters go (default: owned here). Before start().
  void setMetricsProvider(std::function<metrics::MediaWorkerMetrics*(size_t worker)> provider) {
    metricsProvider_ = std::move(provider);
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

  std::string name() const override { return "media"; }
  Result<void> start() override;
  void drain(std::chrono::milliseconds grace, std::function<void()> done) override;
  void stop() override;

  // control::SessionTerminator: cancel, revoke, window end, takeover.
  void endSession(const std::string& session_id, std::string_view reason) override;

  // Tests and metrics: worker i's state, read on its loop.
  size_t workerCount() const { return workers_.size(); }
  uint16_t udpPort(size_t worker) const;
  size_t workerFor(const std::string& roomId) const;
  // Runs fn on worker i's loop with its Router and waits (never call from a worker).
  void inspect(size_t worker, const std::function<void(Router&)>& fn);
  metrics::MediaWorkerMetrics& workerMetrics(size_t worker) { return *workers_.at(worker).metrics; }

 private:
  struct Worker {
    std::unique_ptr<Router> router;  // created, used and destroyed on the worker thread
    metrics::MediaWorkerMetrics* metrics = nullptr;
    std::unique_ptr<metrics::MediaWorkerMetrics> ownedMetrics;
    uint16_t udpPort = 0;
    uint16_t tcpPort = 0;
  };
  // What the control thread keeps per live session.
  struct SessionRecord {
    std::string roomId;
    size_t worker = 0;
    std::string tokenDigest;  // SHA-256 of the bearer token that created it
    std::string etag;
    std::string iceUfrag;
    std::string icePwd;
  };

  void registerRoutes(net::http::Router& http);
  void handleIceServers(net::http::Request& request, net::http::Responder responder);
  void handleJoin(net::http::Request& request, net::http::Responder responder, bool publish);
  void handlePatch(net::http::Request& request, net::http::Responder responder);
  void handleDelete(net::http::Request& request, net::http::Responder responder);
  // Looks up the session of a PATCH/DELETE and checks its bearer token; answers errors itself.
  SessionRecord* authorizeSession(const net::http::Request& request,
                                  net::http::Responder& responder);
  void watchRoom(const std::string& roomId);
  void onWorkerSessionEnded(const std::string& sessionId, const std::string& reason);

  server::App& app_;
  control::ConsultationService* service_ = nullptr;
  std::function<metrics::MediaWorkerMetrics*(size_t)> metricsProvider_;
  std::function<std::optional<IceServers>(const std::string&, int64_t)> iceServerMinter_;
  std::shared_ptr<const DtlsCertificate> certificate_;
  std::vector<Worker> workers_;
  std::map<std::string, SessionRecord> sessions_;  // control thread only
  std::map<std::string, uint64_t> roomWatches_;    // room → event-bus subscription
  // room → invite → role of everyone authorized to join it (the input of its ForwardingRules).
  std::map<std::string, std::map<std::string, control::Role>> participants_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  bool started_ = false;
  bool draining_ = false;
};

}  // namespace medrelay::media

#include "signalling/whip_endpoint.h"

#include <functional>

#include "common/logging.h"
#include "signalling/forwarding_policy.h"

namespace medrelay::signalling {

using media::DtlsCertificate;
using media::Router;
using media::WorkerTransport;

WhipEndpoint::WhipEndpoint(net::Dispatcher& control, net::WorkerPool& workers,
                           net::http::RouteTable& http, Options options,
                           control::ConsultationService* service)
    : control_(control), pool_(workers), options_(std::move(options)), service_(service) {
  registerRoutes(http);
}

WhipEndpoint::~WhipEndpoint() {
  // stop() destroys the routers on their threads. If it never ran, the worker loops are gone
  // already and their handles cannot be closed from here: leave them to process exit.
  for (auto& w : workers_) (void)w.router.release();
}

void WhipEndpoint::setConsultationService(control::ConsultationService* service) {
  service_ = service;
  if (service_ && started_) service_->setTerminator(this);
}

Result<void> WhipEndpoint::start() {
  if (auto r = media::srtpInit(); !r.ok()) return r;
  auto cert = DtlsCertificate::generate();
  if (!cert.ok()) return cert.error();
  certificate_ = std::move(cert).value();
  const auto& cfg = options_;
  const size_t n = pool_.size();
  workers_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Worker& w = workers_[i];
    if (metricsProvider_) w.metrics = metricsProvider_(i);
    if (!w.metrics) {
      w.ownedMetrics = std::make_unique<metrics::MediaWorkerMetrics>();
      w.metrics = w.ownedMetrics.get();
    }
    WorkerTransport::Config tc;
    auto udp = net::SocketAddress::fromIp(
        cfg.listenIp, cfg.udpPort == 0 ? 0 : static_cast<uint16_t>(cfg.udpPort + i));
    if (!udp) return makeError("config", "media.listen_ip: not an IP address");
    tc.udp.push_back(*udp);
    if (cfg.tcpPort != 0) {
      auto tcp = net::SocketAddress::fromIp(cfg.listenIp, static_cast<uint16_t>(cfg.tcpPort + i));
      if (tcp) tc.tcp.push_back(*tcp);
    }
    w.observer = std::make_unique<WorkerObserver>(*this, alive_);
    Result<void> created;
    pool_.runSync(i, [&] {
      auto r = Router::create(pool_.worker(i), tc, certificate_, *w.metrics, w.observer.get(),
                              cfg.router);
      if (!r.ok()) {
        created = r.error();
        return;
      }
      w.router = std::move(r).value();
      w.udpPort = w.router->transport().udpSocket(0).localAddress().port();
      if (w.router->transport().tcpListenerCount() > 0) {
        w.tcpPort = w.router->transport().tcpListener(0).localAddress().port();
      }
    });
    if (!created.ok()) return created;
  }
  if (service_) service_->setTerminator(this);
  started_ = true;
  MR_LOG_INFO(log::get("main"), "media: {} workers, udp from port {}", n,
              workers_.empty() ? 0 : workers_[0].udpPort);
  return {};
}

void WhipEndpoint::stop() {
  if (service_) service_->setTerminator(nullptr);
  if (service_) {
    for (auto& [room, id] : roomWatches_) service_->events().unsubscribe(id);
  }
  roomWatches_.clear();
  participants_.clear();
  sessions_.clear();
  for (size_t i = 0; i < workers_.size(); ++i) {
    pool_.runSync(i, [&] { workers_[i].router.reset(); });
  }
  started_ = false;
}

uint16_t WhipEndpoint::udpPort(size_t worker) const {
  return workers_.at(worker).udpPort;
}

size_t WhipEndpoint::workerFor(const std::string& roomId) const {
  return workers_.empty() ? 0 : std::hash<std::string>{}(roomId) % workers_.size();
}

void WhipEndpoint::inspect(size_t worker, const std::function<void(Router&)>& fn) {
  pool_.runSync(worker, [&] {
    if (workers_.at(worker).router) fn(*workers_[worker].router);
  });
}

void WhipEndpoint::endSession(const std::string& sessionId, std::string_view reason) {
  auto it = sessions_.find(sessionId);
  if (it == sessions_.end()) return;
  const size_t w = it->second.worker;
  sessions_.erase(it);
  MR_LOG_INFO(log::get("policy"), "media: ending session {} ({})", sessionId, reason);
  // Posted at once: media stops within one loop iteration of the worker (docs/policy.md rule 7:
  // cancel, revoke, takeover and window end stop media before the API answers).
  pool_.postTo(w, [this, w, sessionId] {
    if (workers_[w].router) workers_[w].router->closeSession(sessionId);
  });
}

void WhipEndpoint::WorkerObserver::onSessionConnected(const std::string& sessionId) {
  owner_.control_.post([owner = &owner_, alive = alive_, sessionId] {
    if (alive.expired()) return;
    auto it = owner->sessions_.find(sessionId);
    if (it == owner->sessions_.end()) return;
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - it->second.created;
    MR_LOG_DEBUG(log::get("ice"), "media: session {} connected after {:.3f} s", sessionId,
                 took.count());
    if (owner->joinObserver_) owner->joinObserver_(took.count());
  });
}

void WhipEndpoint::WorkerObserver::onSessionStale(const std::string& sessionId, bool stale) {
  owner_.control_.post([owner = &owner_, alive = alive_, sessionId, stale] {
    if (!alive.expired()) owner->onWorkerSessionStale(sessionId, stale);
  });
}

void WhipEndpoint::WorkerObserver::onSessionQuality(const std::string& sessionId,
                                                    const media::SessionQuality& q) {
  control::LinkQuality lq;
  lq.bitrate_bps = q.bitrateBps;
  lq.loss = q.lossFraction;
  lq.jitter_ms = q.jitterMs;
  lq.rtt_ms = q.rttMs;
  lq.estimate_bps = q.estimateBps;
  lq.freezes = q.freezes;
  lq.freeze_ms = q.freezeMs;
  owner_.control_.post([owner = &owner_, alive = alive_, sessionId, lq] {
    if (alive.expired() || !owner->service_ || !owner->sessions_.count(sessionId)) return;
    owner->service_->sessionQuality(sessionId, lq);
  });
}

void WhipEndpoint::WorkerObserver::onVideoPaused(const std::string& sessionId, bool paused) {
  owner_.control_.post([owner = &owner_, alive = alive_, sessionId, paused] {
    if (alive.expired() || !owner->service_ || !owner->sessions_.count(sessionId)) return;
    owner->service_->sessionVideoPaused(sessionId, paused);
  });
}

void WhipEndpoint::WorkerObserver::onSessionDataTotals(const std::string& sessionId,
                                                       const media::DataChannelTotals& t) {
  control::DataChannelTotals totals;
  totals.messages_in = t.messagesIn;
  totals.bytes_in = t.bytesIn;
  totals.messages_out = t.messagesOut;
  totals.bytes_out = t.bytesOut;
  totals.refused = t.refused;
  owner_.control_.post([owner = &owner_, alive = alive_, sessionId, totals] {
    if (alive.expired() || !owner->service_ || !owner->sessions_.count(sessionId)) return;
    owner->service_->sessionDataTotals(sessionId, totals);
  });
}

void WhipEndpoint::WorkerObserver::onSessionEnded(const std::string& sessionId,
                                                  media::SessionEndReason reason) {
  owner_.control_.post([owner = &owner_, alive = alive_, sessionId, reason] {
    if (!alive.expired()) owner->onWorkerSessionEnded(sessionId, reason);
  });
}

void WhipEndpoint::onWorkerSessionStale(const std::string& sessionId, bool stale) {
  if (!sessions_.count(sessionId) || !service_) return;  // ended meanwhile
  MR_LOG_INFO(log::get("ice"), "media: session {} {}", sessionId,
              stale ? "went silent (stale)" : "is fresh again");
  // Reported within one liveness check of the moment the silence reached staleAfter.
  const int64_t silentSinceUs =
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch() - options_.router.staleAfter)
          .count();
  if (auto r = service_->markStale(sessionId, stale, stale ? silentSinceUs : 0); !r.ok()) {
    MR_LOG_DEBUG(log::get("policy"), "markStale {}: {}", sessionId, r.error().message);
  }
}

void WhipEndpoint::onWorkerSessionEnded(const std::string& sessionId,
                                        media::SessionEndReason reason) {
  auto it = sessions_.find(sessionId);
  if (it == sessions_.end()) return;  // the control plane ended it first
  sessions_.erase(it);
  // The access log's end reasons (docs/access-log.md): the peer's close_notify is its hangup.
  std::string_view why = "dtls-failed";
  switch (reason) {
    case media::SessionEndReason::kDtlsClosed:
      why = "hangup";
      break;
    case media::SessionEndReason::kConsentTimeout:
      why = "consent-timeout";
      break;
    case media::SessionEndReason::kIceFailed:
      why = "ice-failed";
      break;
    case media::SessionEndReason::kDtlsFailed:
    case media::SessionEndReason::kCount:
      break;
  }
  MR_LOG_INFO(log::get("ice"), "media: session {} ended by the media plane ({}: {})", sessionId,
              media::toString(reason), why);
  if (service_) service_->sessionEnded(sessionId, why, [](Result<void>) {});
}

void WhipEndpoint::watchRoom(const std::string& roomId) {
  if (!service_ || roomWatches_.count(roomId)) return;
  std::weak_ptr<char> alive = alive_;
  roomWatches_[roomId] = service_->events().subscribe(
      roomId, control::Audience::kBackend, [this, alive, roomId](const nlohmann::json& ev) {
        // Held subscriptions start flowing (policy rule 6): the room's rules as admitted. The
        // admission normally arrives first through consultationStarted; applying the same rules
        // again changes nothing.
        if (alive.expired() || ev.value("type", "") != "admitted") return;
        applyForwardingRules(roomId);
      });
}

void WhipEndpoint::consultationStarted(const std::string& roomId) {
  if (started_ && participants_.count(roomId)) applyForwardingRules(roomId);
}

void WhipEndpoint::applyForwardingRules(const std::string& roomId) {
  if (!service_) return;
  auto room = service_->getRoom(roomId);
  if (!room.ok()) return;
  const size_t w = workerFor(roomId);
  auto rules = forwardingRules(room->room, participants_[roomId]);
  pool_.postTo(w, [this, roomId, w, rules = std::move(rules)]() mutable {
    if (workers_[w].router) workers_[w].router->setForwardingRules(roomId, std::move(rules));
  });
}

}  // namespace medrelay::signalling

#include "media/router.h"

#include <algorithm>

#include "common/logging.h"

namespace medrelay::media {

std::string_view toString(SessionEndReason reason) {
  switch (reason) {
    case SessionEndReason::kIceFailed:
      return "ice-failed";
    case SessionEndReason::kDtlsFailed:
      return "dtls-failed";
    case SessionEndReason::kConsentTimeout:
      return "consent-timeout";
    case SessionEndReason::kDtlsClosed:
      return "dtls-closed";
    case SessionEndReason::kCount:
      break;
  }
  return "unknown";
}

Router::Router(net::Dispatcher& dispatcher, metrics::MediaWorkerMetrics& metrics,
               SessionObserver* observer, Options options)
    : dispatcher_(dispatcher), metrics_(metrics), observer_(observer), options_(options) {}

Result<std::unique_ptr<Router>> Router::create(net::Dispatcher& dispatcher,
                                               const WorkerTransport::Config& transport,
                                               std::shared_ptr<const DtlsCertificate> cert,
                                               metrics::MediaWorkerMetrics& metrics,
                                               SessionObserver* observer, Options options) {
  std::unique_ptr<Router> r(new Router(dispatcher, metrics, observer, options));
  auto t = WorkerTransport::create(dispatcher, transport);
  if (!t.ok()) return t.error();
  r->transport_ = std::move(t).value();
  auto d = DtlsContext::create(std::move(cert));
  if (!d.ok()) return d.error();
  r->dtls_ = std::move(d).value();
  r->ctx_.reset(new WorkerContext{dispatcher, *r->transport_, *r->dtls_, metrics});
  r->ctx_->videoFloorBps = r->options_.videoFloorBps;
  r->ctx_->dataChannels = options.dataChannels;
  Router* self = r.get();
  r->tick_ = std::make_unique<net::Timer>(dispatcher, [self] {
    for (auto& [id, room] : self->rooms_) room->tick();
    self->mirrorTransportCounters();
    self->reportQuality();
  });
  r->tick_->start(std::chrono::milliseconds(1000), std::chrono::milliseconds(1000));
  r->liveness_ = std::make_unique<net::Timer>(dispatcher, [self] { self->checkLiveness(); });
  r->liveness_->start(options.livenessInterval, options.livenessInterval);
  return r;
}

Router::~Router() {
  for (auto& [id, s] : sessions_) s->close();
  sessions_.clear();
  rooms_.clear();
}

Result<void> Router::createSession(SessionSpec spec) {
  if (sessions_.count(spec.sessionId)) return makeError("conflict", "session exists");
  spec.transport.connectTimeout = options_.connectTimeout;
  spec.transport.ice.consentTimeout = options_.consentTimeout;
  if (spec.transport.sctp)
    spec.transport.sctp->maxMessageSize = options_.dataChannels.maxMessageSize;
  auto& room = rooms_[spec.roomId];
  if (!room) room = std::make_unique<ForwardingRoom>(spec.roomId, *ctx_, *this);
  const std::string id = spec.sessionId;
  const std::string roomId = spec.roomId;
  auto session = std::make_unique<ParticipantSession>(*ctx_, *room, std::move(spec));
  if (auto r = session->start(); !r.ok()) {
    session->close();
    session.reset();
    if (room->empty()) rooms_.erase(roomId);
    return r;
  }
  room->addSession(*session);
  sessions_[id] = std::move(session);
  return {};
}

ParticipantSession* Router::session(const std::string& id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

bool Router::closeSession(const std::string& id) {
  if (!sessions_.count(id)) return false;
  destroySession(id);
  return true;
}

Result<std::pair<std::string, std::string>> Router::restartIce(const std::string& id,
                                                               std::string_view remoteUfrag,
                                                               std::string_view remotePassword) {
  ParticipantSession* s = session(id);
  if (!s) return makeError("not_found", "no such session");
  s->transport().restartIce(remoteUfrag, remotePassword);
  return std::make_pair(s->transport().ice().localUfrag(), s->transport().ice().localPassword());
}

void Router::setForwardingRules(const std::string& roomId, ForwardingRules rules) {
  auto it = rooms_.find(roomId);
  if (it != rooms_.end()) it->second->setForwardingRules(std::move(rules));
}

uint64_t Router::untilStale(ParticipantSession& s, uint64_t now) const {
  const WebRtcTransport& t = s.transport();
  auto left = [now](uint64_t since, std::chrono::milliseconds limit) -> uint64_t {
    const auto end = since + static_cast<uint64_t>(limit.count());
    return end > now ? end - now : 0;
  };
  // Silence: nothing authenticated at all.
  uint64_t wait = left(t.lastActivityMs(), options_.staleAfter);
  // Consent: media may still flow, but the peer stopped confirming the path (RFC 7675 §5.1):
  // after two of its check intervals the session is stale, well before consent expires.
  if (t.connected()) {
    const auto consentStale = options_.consentTimeout * 2 / 5;
    wait = std::min(wait, left(std::max(t.startedMs(), t.ice().lastCheckMs()), consentStale));
  }
  return wait;
}

std::optional<uint64_t> Router::msUntilStale(const std::string& sessionId) {
  ParticipantSession* s = session(sessionId);
  if (s == nullptr) return std::nullopt;
  return untilStale(*s, dispatcher_.nowMs());
}

void Router::checkLiveness() {
  const uint64_t now = dispatcher_.nowMs();
  for (auto& [id, s] : sessions_) {
    if (s->ended()) continue;
    const bool stale = untilStale(*s, now) == 0;
    if (stale == s->reportedStale) continue;
    s->reportedStale = stale;
    // Only for peers that report: one that sends nothing but consent checks (every 5 s) is
    // silent while it receives perfectly well.
    if (!stale && !s->publishes() && s->rtcpSeen && s->transport().connected()) {
      auto room = rooms_.find(s->spec().roomId);
      if (room != rooms_.end()) room->second->restartVideo(*s);
    }
    if (observer_ != nullptr) observer_->onSessionStale(id, stale);
  }
}

void Router::mirrorTransportCounters() {
  using metrics::TransportDrop;
  using Drop = WorkerTransport::Drop;
  auto& out = metrics_.transport_dropped;
  const auto& demux = transport_->counters();
  out[TransportDrop::kBadStun].set(demux.dropped(Drop::kBadStun));
  out[TransportDrop::kIceRejected].set(demux.dropped(Drop::kIceRejected));
  out[TransportDrop::kNotStun].set(demux.dropped(Drop::kNotStun));
  out[TransportDrop::kShortPacket].set(demux.dropped(Drop::kShortPacket));
  out[TransportDrop::kUnknownKind].set(demux.dropped(Drop::kUnknownKind));
  out[TransportDrop::kUnknownTuple].set(demux.dropped(Drop::kUnknownTuple));
  out[TransportDrop::kUnknownUfrag].set(demux.dropped(Drop::kUnknownUfrag));
  out[TransportDrop::kNoTransport].set(demux.sendNoTransport);
  net::UdpSocket::Counters udp;
  for (size_t i = 0; i < transport_->udpSocketCount(); ++i) {
    const auto& c = transport_->udpSocket(i).counters();
    udp.sendDropWouldBlock += c.sendDropWouldBlock;
    udp.sendDropError += c.sendDropError;
    udp.sendDropInvalid += c.sendDropInvalid;
    udp.recvErrors += c.recvErrors;
    udp.recvTruncated += c.recvTruncated;
  }
  out[TransportDrop::kUdpSendWouldBlock].set(udp.sendDropWouldBlock);
  out[TransportDrop::kUdpSendError].set(udp.sendDropError);
  out[TransportDrop::kUdpSendInvalid].set(udp.sendDropInvalid);
  out[TransportDrop::kUdpRecvError].set(udp.recvErrors);
  out[TransportDrop::kUdpRecvTruncated].set(udp.recvTruncated);
  net::StreamListener::Counters tcp;
  for (size_t i = 0; i < transport_->tcpListenerCount(); ++i) {
    const auto& c = transport_->tcpListener(i).counters();
    tcp.sendDropQueueFull += c.sendDropQueueFull;
    tcp.sendDropNoConnection += c.sendDropNoConnection;
    tcp.sendDropTooLarge += c.sendDropTooLarge;
    tcp.closedBadFrame += c.closedBadFrame + c.closedOversize;
  }
  out[TransportDrop::kTcpQueueFull].set(tcp.sendDropQueueFull);
  out[TransportDrop::kTcpNoConnection].set(tcp.sendDropNoConnection);
  out[TransportDrop::kTcpTooLarge].set(tcp.sendDropTooLarge);
  out[TransportDrop::kTcpBadFrame].set(tcp.closedBadFrame);
}

void Router::reportQuality() {
  if (++ticks_ < options_.qualityTicks) return;
  ticks_ = 0;
  for (auto& [id, s] : sessions_) {
    if (s->ended() || !s->transport().connected()) continue;
    reportDataTotals(*s);
    if (observer_ != nullptr) observer_->onSessionQuality(id, s->quality);
    s->quality = SessionQuality{};
  }
}

void Router::reportDataTotals(ParticipantSession& s) {
  if (observer_ == nullptr || s.dataTotals == s.reportedDataTotals) return;
  s.reportedDataTotals = s.dataTotals;
  observer_->onSessionDataTotals(s.id(), s.dataTotals);
}

void Router::onSessionConnected(ParticipantSession& session) {
  if (observer_ != nullptr) observer_->onSessionConnected(session.id());
}

void Router::onVideoPaused(ParticipantSession& session, bool paused) {
  if (observer_ != nullptr) observer_->onVideoPaused(session.id(), paused);
}

void Router::onSessionFailed(ParticipantSession& session, SessionEndReason reason) {
  // Called from inside the transport, which is still on the stack: destroy on a later loop
  // iteration.
  const std::string id = session.id();
  std::weak_ptr<char> alive = alive_;
  dispatcher_.post([this, alive, id, reason] {
    if (alive.expired() || !sessions_.count(id)) return;
    reportDataTotals(*sessions_[id]);
    destroySession(id);
    if (observer_ != nullptr) observer_->onSessionEnded(id, reason);
  });
}

void Router::destroySession(const std::string& id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  std::unique_ptr<ParticipantSession> s = std::move(it->second);
  sessions_.erase(it);
  s->close();
  auto room = rooms_.find(s->spec().roomId);
  if (room != rooms_.end()) {
    room->second->removeSession(*s);
    if (room->second->empty()) rooms_.erase(room);
  }
}

}  // namespace medrelay::media

#include "media/router.h"

#include "common/logging.h"

namespace medrelay::media {

Router::Router(net::Dispatcher& dispatcher, metrics::MediaWorkerMetrics& metrics, EndedFn ended)
    : dispatcher_(dispatcher), metrics_(metrics), ended_(std::move(ended)) {}

Result<std::unique_ptr<Router>> Router::create(net::Dispatcher& dispatcher,
                                               const WorkerTransport::Config& transport,
                                               std::shared_ptr<const DtlsCertificate> cert,
                                               metrics::MediaWorkerMetrics& metrics,
                                               EndedFn ended) {
  std::unique_ptr<Router> r(new Router(dispatcher, metrics, std::move(ended)));
  auto t = WorkerTransport::create(dispatcher, transport);
  if (!t.ok()) return t.error();
  r->transport_ = std::move(t).value();
  auto d = DtlsContext::create(std::move(cert));
  if (!d.ok()) return d.error();
  r->dtls_ = std::move(d).value();
  r->ctx_.reset(new WorkerContext{dispatcher, *r->transport_, *r->dtls_, metrics});
  Router* self = r.get();
  r->tick_ = std::make_unique<net::Timer>(dispatcher, [self] {
    for (auto& [id, room] : self->rooms_) room->tick();
  });
  r->tick_->start(std::chrono::milliseconds(1000), std::chrono::milliseconds(1000));
  return r;
}

Router::~Router() {
  for (auto& [id, s] : sessions_) s->close();
  sessions_.clear();
  rooms_.clear();
}

Result<void> Router::createSession(SessionSpec spec) {
  if (sessions_.count(spec.sessionId)) return makeError("conflict", "session exists");
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

void Router::onSessionFailed(ParticipantSession& session, std::string_view reason) {
  // Called from inside the transport, which is still on the stack: destroy on a later loop
  // iteration.
  const std::string id = session.id();
  const std::string why(reason);
  std::weak_ptr<char> alive = alive_;
  dispatcher_.post([this, alive, id, why] {
    if (alive.expired() || !sessions_.count(id)) return;
    destroySession(id);
    if (ended_) ended_(id, why);
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

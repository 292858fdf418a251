#pragma once
// Everything media one worker owns: its WorkerTransport (sockets, demux), DtlsContext, the rooms
// pinned to it and their sessions. Every method runs on the worker's loop; the control thread
// reaches it only through WorkerPool::postTo (docs/media.md).
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "media/forwarding_room.h"

namespace medrelay::media {

class Router final : public ForwardingRoom::Callbacks {
 public:
  // A session ended on its own (consent lost, DTLS failed). Runs on the worker thread.
  using EndedFn = std::function<void(const std::string& sessionId, const std::string& reason)>;

  static Result<std::unique_ptr<Router>> create(net::Dispatcher& dispatcher,
                                                const WorkerTransport::Config& transport,
                                                std::shared_ptr<const DtlsCertificate> cert,
                                                metrics::MediaWorkerMetrics& metrics,
                                                EndedFn ended);
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

  WorkerTransport& transport() { return *transport_; }
  DtlsContext& dtls() { return *dtls_; }
  size_t sessionCount() const { return sessions_.size(); }
  size_t roomCount() const { return rooms_.size(); }
  ParticipantSession* session(const std::string& id);

  void onSessionFailed(ParticipantSession& session, std::string_view reason) override;

 private:
  Router(net::Dispatcher& dispatcher, metrics::MediaWorkerMetrics& metrics, EndedFn ended);
  void destroySession(const std::string& id);

  net::Dispatcher& dispatcher_;
  metrics::MediaWorkerMetrics& metrics_;
  EndedFn ended_;
  std::unique_ptr<WorkerTransport> transport_;
  std::unique_ptr<DtlsContext> dtls_;
  std::unique_ptr<WorkerContext> ctx_;
  std::unordered_map<std::string, std::unique_ptr<ForwardingRoom>> rooms_;
  std::unordered_map<std::string, std::unique_ptr<ParticipantSession>> sessions_;
  std::unique_ptr<net::Timer> tick_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace medrelay::media

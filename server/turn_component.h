#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/counters/turn_counters.h"
#include "net/dispatcher.h"
#include "net/stream_listener.h"
#include "net/tls/tls_context.h"
#include "net/turn/turn_credentials.h"
#include "net/turn/turn_server.h"
#include "server/app.h"
#include "server/local_sfu_path.h"

namespace medrelay::net {
class UdpSocket;
}
namespace medrelay::net::turn {
class UdpRelaySocketFactory;
}  // namespace medrelay::net::turn

namespace medrelay::server {

class MediaComponent;

// The built-in TURN relay as an App component: its own loop thread ("turn") running the
// TurnServer behind a UDP listener (batched), a TCP listener and a TLS listener (turn.*
// settings; TLS uses http.tls_cert/tls_key and reloads on SIGHUP). Relayed addresses are bound
// to turn.relay_ips (default media.listen_ip); the media workers' UDP addresses are the own
// addresses the default policy allows. With turn.local_sfu_path, datagrams relayed to those
// addresses go to the worker inside the process (LocalSfuPath, docs/turn.md).
class TurnComponent : public App::Component {
 public:
  explicit TurnComponent(App& app, net::turn::InviteLiveness* liveness = nullptr);
  ~TurnComponent() override;

  std::string name() const override { return "turn"; }
  Result<void> start() override;
  void drain(std::chrono::milliseconds grace, std::function<void()> done) override;
  void stop() override;
  Result<void> reload() override;

  // Before start(). The media plane whose workers are the own addresses (started before this
  // component and stopped after it: App's order). Without it only a fixed media.udp_port range
  // is known.
  void setMediaComponent(MediaComponent* media) { media_ = media; }
  // Before start(): the counters /metrics exports (default: a block owned here).
  void setMetrics(metrics::TurnWorkerMetrics* metrics) { metrics_ = metrics; }
  // Before start(): whether an invite is still live (the control plane's view, which must outlive
  // this component; App stops components in reverse order). Without it only the invites revoked
  // through revokeInvite() while this process runs are refused.
  void setInviteLiveness(net::turn::InviteLiveness* liveness) { liveness_ = liveness; }

  // Thread-safe (posted to the TURN thread): tears down the invite's allocations at once.
  void revokeInvite(std::string inviteId);
  // Thread-safe: credentials for an invite until expiresAtUnix, with this server's URIs.
  net::turn::TurnCredentials mintCredentials(std::string_view inviteId,
                                             int64_t expiresAtUnix) const;
  // "turn:127.0.0.1:3478?transport=udp", "turn:…?transport=tcp", "turns:…?transport=tcp".
  std::vector<std::string> uris() const;

  // Bound ports once started (0 when that listener is off).
  uint16_t udpPort() const { return udpPort_; }
  uint16_t tcpPort() const { return tcpPort_; }
  uint16_t tlsPort() const { return tlsPort_; }
  net::Dispatcher& dispatcher();
  // On the TURN thread only (tests: through dispatcherThread().runSync()).
  net::turn::TurnServer* server() { return server_.get(); }
  net::DispatcherThread& thread() { return *thread_; }
  const metrics::TurnWorkerMetrics& metrics() const { return *metrics_; }
  // How many media worker addresses take the in-process path.
  size_t localSfuPaths() const { return localPaths_.size(); }

 private:
  class Sink;
  Result<void> startOnThread();
  Result<void> attachMedia();
  void detachMedia();

  App& app_;
  net::turn::InviteLiveness* liveness_;
  std::unique_ptr<net::DispatcherThread> thread_;
  std::shared_ptr<net::TlsContext> tls_;
  metrics::TurnWorkerMetrics ownedMetrics_;
  metrics::TurnWorkerMetrics* metrics_ = &ownedMetrics_;
  MediaComponent* media_ = nullptr;
  std::vector<std::unique_ptr<LocalSfuPath>> localPaths_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<net::turn::UdpRelaySocketFactory> relays_;
  std::unique_ptr<net::turn::TurnServer> server_;
  std::unique_ptr<net::UdpSocket> udp_;
  std::unique_ptr<net::StreamListener> tcp_;
  std::unique_ptr<net::StreamListener> tls_listener_;
  std::unique_ptr<net::StreamListener::Callbacks> tcpCallbacks_;
  std::unique_ptr<net::StreamListener::Callbacks> tlsCallbacks_;
  std::vector<std::string> secrets_;
  std::string advertisedHost_;
  uint16_t udpPort_ = 0;
  uint16_t tcpPort_ = 0;
  uint16_t tlsPort_ = 0;
};

}  // namespace medrelay::server

#include "server/turn_component.h"

#include <future>

#include "common/logging.h"
#include "net/stream_listener.h"
#include "net/turn/turn_stream_framing.h"
#include "net/turn/udp_relay.h"
#include "net/udp_socket.h"
#include "server/http_component.h"
#include "server/media_component.h"

namespace medrelay::server {

using net::SocketAddress;
using net::turn::ClientTransport;
using net::turn::ClientTuple;

// Routes the server's answers to the listener the client came through; feeds the server.
class TurnComponent::Sink : public net::turn::ClientSink,
                            public net::UdpSocket::Callbacks,
                            public net::StreamListener::Callbacks {
 public:
  explicit Sink(TurnComponent& owner) : owner_(owner) {}

  void sendToClient(const ClientTuple& to, const uint8_t* data, size_t len) override {
    switch (to.transport) {
      case ClientTransport::kUdp:
        if (owner_.udp_) owner_.udp_->send(to.remote, data, len);
        break;
      case ClientTransport::kTcp:
        if (owner_.tcp_) owner_.tcp_->send(to.connectionId, data, len);
        break;
      case ClientTransport::kTls:
        if (owner_.tls_listener_) owner_.tls_listener_->send(to.connectionId, data, len);
        break;
    }
  }
  void onDatagram(const SocketAddress& from, uint8_t* data, size_t len) override {
    ClientTuple t;
    t.remote = from;
    owner_.server_->onClientPacket(t, data, len);
  }
  // The stream listeners: connection ids are unique per listener; TaggedCallbacks sets
  // `current` to the calling listener's transport first.
  void onFrame(uint32_t id, const SocketAddress& from, uint8_t* data, size_t len) override {
    owner_.server_->onClientPacket(tuple(id, from), data, len);
  }
  void onConnectionClosed(uint32_t id, const SocketAddress& from) override {
    if (owner_.server_) owner_.server_->onClientClosed(tuple(id, from));
  }
  ClientTransport current = ClientTransport::kTcp;

 private:
  ClientTuple tuple(uint32_t id, const SocketAddress& from) const {
    ClientTuple t;
    t.transport = current;
    t.connectionId = id;
    t.remote = from;
    return t;
  }
  TurnComponent& owner_;
};

namespace {

// A stream listener's callbacks tagged with its transport.
class TaggedCallbacks : public net::StreamListener::Callbacks {
 public:
  TaggedCallbacks(net::StreamListener::Callbacks& inner, ClientTransport& current,
                  ClientTransport mine)
      : inner_(inner), current_(current), mine_(mine) {}
  void onFrame(uint32_t id, const SocketAddress& from, uint8_t* data, size_t len) override {
    current_ = mine_;
    inner_.onFrame(id, from, data, len);
  }
  void onConnectionClosed(uint32_t id, const SocketAddress& from) override {
    current_ = mine_;
    inner_.onConnectionClosed(id, from);
  }

 private:
  net::StreamListener::Callbacks& inner_;
  ClientTransport& current_;
  ClientTransport mine_;
};

// TURN over TCP/TLS (RFC 8656 §3.1, §12.5): STUN/ChannelData framing; a connection on which
// nothing arrives for 2 minutes is closed.
net::StreamListener::Options turnStreamOptions() {
  net::StreamListener::Options o;
  o.framing = std::make_shared<net::turn::TurnStreamFraming>();
  o.maxConnections = 4096;
  o.maxQueuedBytes = 1 << 20;
  o.idleRule = net::StreamListener::IdleRule::kSinceLastReceive;
  o.idleTimeout = std::chrono::milliseconds(120000);
  return o;
}

std::optional<SocketAddress> listenAddress(const std::string& value) {
  std::string host;
  uint16_t port = 0;
  if (!splitHostPort(value, host, port)) return std::nullopt;
  return SocketAddress::fromIp(host, port);
}

}  // namespace

TurnComponent::TurnComponent(App& app, net::turn::InviteLiveness* liveness)
    : app_(app), liveness_(liveness), secrets_(app.config().turn.secrets) {}

TurnComponent::~TurnComponent() {
  stop();
}

net::Dispatcher& TurnComponent::dispatcher() {
  return thread_->dispatcher();
}

Result<void> TurnComponent::start() {
  const auto& cfg = app_.config();
  if (!cfg.turn.tls_listen.empty()) {
    auto tls = net::TlsContext::create(cfg.http.tls_cert, cfg.http.tls_key);
    if (!tls) return tls.error();
    tls_ = tls.value();
  }
  thread_ = std::make_unique<net::DispatcherThread>("turn");
  Result<void> result;
  thread_->runSync([&] { result = startOnThread(); });
  if (result) result = attachMedia();
  if (!result) {
    stop();
    return result;
  }
  MR_LOG_INFO(log::get("turn"),
              "TURN listening: udp {} tcp {} tls {}; in-process path to {} media "
              "workers",
              udpPort_, tcpPort_, tlsPort_, localPaths_.size());
  return {};
}

Result<void> TurnComponent::startOnThread() {
  const auto& cfg = app_.config();
  net::turn::UdpRelaySocketFactory::Options ro;
  std::vector<std::string> ips = cfg.turn.relay_ips;
  if (ips.empty()) ips.push_back(cfg.media.listen_ip);
  for (const auto& ip : ips) {
    auto a = SocketAddress::fromIp(ip, 0);
    if (!a) return makeError("invalid_relay_ip", "turn.relay_ips: not an IP: " + ip);
    (a->isIpv4() ? ro.ipv4 : ro.ipv6) = *a;
  }
  relays_ = std::make_unique<net::turn::UdpRelaySocketFactory>(dispatcher(), ro);

  auto policy = net::turn::PeerPolicy::create(cfg.turn.allow_peers, cfg.turn.deny_peers);
  if (!policy) return policy.error();
  // The media workers' UDP sockets are the SFU's own addresses (allowed by default).
  if (auto media = SocketAddress::fromIp(cfg.media.listen_ip, 0)) {
    for (uint32_t i = 0; i < cfg.effectiveWorkers(); ++i) {
      if (cfg.media.udp_port == 0) break;  // ephemeral: the media plane registers them
      media->setPort(static_cast<uint16_t>(cfg.media.udp_port + i));
      policy.value().addOwnAddress(*media);
    }
  }
  net::turn::TurnServerOptions so;
  so.realm = cfg.turn.realm;
  so.secrets = secrets_;
  sink_ = std::make_unique<Sink>(*this);
  server_ = std::make_unique<net::turn::TurnServer>(&dispatcher(), so, std::move(policy).value(),
                                                    *relays_, *sink_, *metrics_, liveness_);
  if (!cfg.turn.udp_listen.empty()) {
    net::UdpSocket::Options uo;
    auto bind = listenAddress(cfg.turn.udp_listen);
    if (!bind) return makeError("invalid_listen", "turn.udp_listen: " + cfg.turn.udp_listen);
    uo.bind = *bind;
    auto s = net::UdpSocket::open(dispatcher(), uo, *sink_);
    if (!s) return s.error();
    udp_ = std::move(s).value();
    udpPort_ = udp_->localAddress().port();
    advertisedHost_ = udp_->localAddress().ipString();
  }
  auto openStream = [&](const std::string& listen, ClientTransport t,
                        std::shared_ptr<net::TlsContext> tls,
                        std::unique_ptr<net::StreamListener>& out, uint16_t& port) -> Result<void> {
    if (listen.empty()) return {};
    auto bind = listenAddress(listen);
    if (!bind) return makeError("invalid_listen", "turn listen address: " + listen);
    auto& cb = t == ClientTransport::kTls ? tlsCallbacks_ : tcpCallbacks_;
    cb = std::make_unique<TaggedCallbacks>(*sink_, sink_->current, t);
    net::StreamListener::Options lo = turnStreamOptions();
    lo.bind = *bind;
    lo.tls = std::move(tls);
    auto l = net::StreamListener::open(dispatcher(), lo, *cb);
    if (!l) return l.error();
    out = std::move(l).value();
    port = out->localAddress().port();
    if (advertisedHost_.empty()) advertisedHost_ = out->localAddress().ipString();
    return {};
  };
  if (auto r = openStream(cfg.turn.tcp_listen, ClientTransport::kTcp, nullptr, tcp_, tcpPort_);
      !r) {
    return r;
  }
  return openStream(cfg.turn.tls_listen, ClientTransport::kTls, tls_, tls_listener_, tlsPort_);
}

void TurnComponent::drain(std::chrono::milliseconds, std::function<void()> done) {
  // Allocations are soft state: clients re-allocate elsewhere; nothing to finish.
  done();
}

Result<void> TurnComponent::attachMedia() {
  if (media_ == nullptr) return {};
  const bool local = app_.config().turn.local_sfu_path;
  for (size_t i = 0; i < media_->endpoint().workerCount(); ++i) {
    // The worker's UDP socket(s): an own address of the policy, and with the local path on, a
    // LocalPeer of the server. Ephemeral ports are known only now.
    std::vector<SocketAddress> addresses;
    media_->endpoint().inspect(i, [&](media::Router& r) {
      for (size_t k = 0; k < r.transport().udpSocketCount(); ++k) {
        addresses.push_back(r.transport().udpSocket(k).localAddress());
      }
    });
    for (size_t k = 0; k < addresses.size(); ++k) {
      const SocketAddress& a = addresses[k];
      // One LocalRelay per transport: the local path serves its first socket (the media plane
      // opens one UDP socket per worker); any other is an own address reached via the kernel.
      if (!local || k > 0) {
        thread_->runSync([&] { server_->policy().addOwnAddress(a); });
        continue;
      }
      auto path = std::make_unique<LocalSfuPath>(dispatcher(), app_.workers().worker(i), a,
                                                 static_cast<uint8_t>(k));
      LocalSfuPath* p = path.get();
      localPaths_.push_back(std::move(path));
      media_->endpoint().inspect(i, [p](media::Router& r) {
        p->attachTransport(&r.transport());
        r.transport().setLocalRelay(p);
      });
      thread_->runSync([&] {
        p->attachServer(server_.get());
        server_->registerLocalPeer(a, *p);
      });
    }
  }
  return {};
}

void TurnComponent::detachMedia() {
  if (media_ == nullptr || localPaths_.empty()) return;
  // runSync on each worker also runs every drain task the TURN thread posted before.
  for (size_t i = 0; i < media_->endpoint().workerCount(); ++i) {
    media_->endpoint().inspect(i, [](media::Router& r) { r.transport().setLocalRelay(nullptr); });
  }
  for (auto& p : localPaths_) p->attachTransport(nullptr);  // workers hold no reference now
}

void TurnComponent::stop() {
  if (!thread_) return;
  thread_->runSync([this] {
    udp_.reset();
    tcp_.reset();
    tls_listener_.reset();
    for (auto& p : localPaths_) p->attachServer(nullptr);
    server_.reset();
    relays_.reset();
  });
  // The local paths go last: no server feeds them, the workers let go, and the drain tasks the
  // workers posted to this thread have run (FIFO).
  detachMedia();
  thread_->runSync([] {});
  localPaths_.clear();
  thread_->stopAndJoin();
  thread_.reset();
}

Result<void> TurnComponent::reload() {
  if (!tls_) return {};
  return tls_->reload();
}

void TurnComponent::revokeInvite(std::string inviteId) {
  if (!thread_) return;
  thread_->dispatcher().post([this, id = std::move(inviteId)] {
    if (server_) server_->revokeInvite(id);
  });
}

std::vector<std::string> TurnComponent::uris() const {
  std::vector<std::string> out;
  std::string host = advertisedHost_;
  if (const auto& a = app_.config().media.announced_ip; !a.empty()) host = a;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (udpPort_ != 0)
    out.push_back("turn:" + host + ":" + std::to_string(udpPort_) + "?transport=udp");
  if (tcpPort_ != 0)
    out.push_back("turn:" + host + ":" + std::to_string(tcpPort_) + "?transport=tcp");
  if (tlsPort_ != 0)
    out.push_back("turns:" + host + ":" + std::to_string(tlsPort_) + "?transport=tcp");
  return out;
}

net::turn::TurnCredentials TurnComponent::mintCredentials(std::string_view inviteId,
                                                          int64_t expiresAtUnix) const {
  return net::turn::mintTurnCredentials(
      inviteId, expiresAtUnix, secrets_.empty() ? std::string_view() : secrets_.front(), uris());
}

}  // namespace medrelay::server

// TURN server fuzz target over the datagram entry point (TurnServer::onClientPacket) and the
// relay side (a peer datagram to the relayed address). A fixed client holds an authenticated
// allocation with a permission and a channel, so inputs reach the authenticated paths too:
//   byte 0 % 5: 0 = from the allocated UDP client, 1 = from a stranger, 2 = from a TCP client,
//               3 = parsed as STUN and re-signed with the client's key (authenticated
//               requests with arbitrary attributes), 4 = a peer datagram to the relay.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/turn/turn_server.h"

using namespace medrelay;
using namespace medrelay::net;
using namespace medrelay::net::stun;
using namespace medrelay::net::turn;

namespace {

struct Sink : ClientSink {
  void sendToClient(const ClientTuple&, const uint8_t* data, size_t len) override {
    last.assign(data, data + len);
  }
  std::vector<uint8_t> last;
};

struct Relays : RelaySocketFactory {
  struct Sock : RelaySocket {
    Sock(SocketAddress a, RelaySocket::Receiver& r) : addr(a), receiver(r) {}
    const SocketAddress& localAddress() const override { return addr; }
    bool send(const SocketAddress&, const uint8_t*, size_t) override { return true; }
    SocketAddress addr;
    RelaySocket::Receiver& receiver;
  };
  bool supports(int) const override { return true; }
  Result<std::unique_ptr<RelaySocket>> open(int family, RelaySocket::Receiver& r) override {
    const auto a = family == AF_INET ? *SocketAddress::fromIp("198.51.100.10", port++)
                                     : *SocketAddress::fromIp("2001:db8::10", port++);
    auto s = std::make_unique<Sock>(a, r);
    last = s.get();
    return std::unique_ptr<RelaySocket>(std::move(s));
  }
  uint16_t port = 50000;
  Sock* last = nullptr;
};

struct Harness {
  Harness() {
    TurnServerOptions o;
    o.secrets = {"fuzz-secret-0123456789"};
    o.nowMs = [] { return uint64_t{1000000}; };
    o.unixNow = [] { return int64_t{1700000000}; };
    creds = mintTurnCredentials("fuzz", 1700003600, o.secrets[0], {}, 1700000000);
    key = *longTermKeyMd5(creds.username, "medrelay", creds.password);
    server = std::make_unique<TurnServer>(
        nullptr, o, PeerPolicy::create({"198.51.100.0/24"}, {}).value(), relays, sink, metrics);
    client.remote = *SocketAddress::fromIp("203.0.113.7", 40000);
    peer = *SocketAddress::fromIp("198.51.100.20", 5000);
  }

  // (Re)creates the allocation with a permission and channel 0x4000 if it is gone.
  void ensureAllocation() {
    if (server->allocationCount() > 0) return;
    std::vector<uint8_t> buf(512);
    StunMessage::TransactionId tid{};
    tid[0] = ++seq;
    StunBuilder b(buf, MessageClass::kRequest, method::kAllocate, tid);
    b.addRequestedTransport(kTransportUdp);
    b.addString(attr::kSoftware, "fuzz harness client");
    auto w = b.finish();
    ClientTuple tcp = client;
    tcp.transport = ClientTransport::kTcp;
    server->onClientPacket(tcp, w->data(), w->size());  // TCP: no amplification bound
    auto m = StunMessage::parse(sink.last);
    if (!m || !m->nonce()) return;
    nonce = std::string(*m->nonce());
    signedRequest(method::kAllocate,
                  [](StunBuilder& s) { s.addRequestedTransport(kTransportUdp); });
    signedRequest(method::kChannelBind, [&](StunBuilder& s) {
      s.addChannelNumber(0x4000);
      s.addXorAddress(attr::kXorPeerAddress, peer.toStun());
    });
  }

  template <typename Fn>
  void signedRequest(uint16_t method, Fn&& attrs, MessageClass cls = MessageClass::kRequest) {
    StunMessage::TransactionId tid{};
    tid[0] = ++seq;
    StunBuilder b(scratch, cls, method, tid);
    attrs(b);
    b.addString(attr::kUsername, creds.username);
    b.addString(attr::kRealm, "medrelay");
    b.addString(attr::kNonce, nonce);
    b.addMessageIntegrity(key);
    if (auto w = b.finish()) server->onClientPacket(client, w->data(), w->size());
  }

  Sink sink;
  Relays relays;
  metrics::TurnWorkerMetrics metrics;
  std::unique_ptr<TurnServer> server;
  TurnCredentials creds;
  std::array<uint8_t, 16> key{};
  std::string nonce;
  ClientTuple client;
  SocketAddress peer;
  uint8_t seq = 0;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(70000);
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness h;
  if (size < 1) return 0;
  h.ensureAllocation();
  const uint8_t mode = data[0] % 5;
  const uint8_t* p = data + 1;
  const size_t n = size - 1;
  switch (mode) {
    case 0:
      h.server->onClientPacket(h.client, p, n);
      break;
    case 1: {
      ClientTuple stranger;
      stranger.remote = *SocketAddress::fromIp("203.0.113.99", 1234);
      h.server->onClientPacket(stranger, p, n);
      break;
    }
    case 2: {
      ClientTuple tcp = h.client;
      tcp.transport = ClientTransport::kTcp;
      tcp.connectionId = 1;
      h.server->onClientPacket(tcp, p, n);
      break;
    }
    case 3: {
      const auto m = StunMessage::parse({p, n});
      if (!m) break;
      h.signedRequest(
          m->method(),
          [&](StunBuilder& b) {
            for (const Attribute a : *m) {
              if (a.type == attr::kMessageIntegrity || a.type == attr::kMessageIntegritySha256 ||
                  a.type == attr::kFingerprint || a.type == attr::kUsername ||
                  a.type == attr::kRealm || a.type == attr::kNonce) {
                continue;
              }
              b.addAttribute(a.type, a.value);
            }
          },
          m->messageClass());
      break;
    }
    case 4:
      if (h.relays.last != nullptr && h.server->allocationCount() > 0) {
        h.relays.last->receiver.onPeerDatagram(h.peer, p, n);
      }
      break;
  }
  return 0;
}

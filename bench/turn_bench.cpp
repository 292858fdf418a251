// TURN relay path without sockets: ChannelData from the client to a peer (parse, allocation
// and channel lookup, permission, token bucket, relay send) and a peer datagram back to the
// client as ChannelData, through TurnServer with in-memory relay sockets and client sink.
// Ceiling in the same run: a plain memcpy of the payload (BM_TurnCopyCeiling).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/turn/turn_server.h"

namespace {

using namespace medrelay;
using namespace medrelay::net;
using namespace medrelay::net::stun;
using namespace medrelay::net::turn;

struct CountingSink : ClientSink {
  void sendToClient(const ClientTuple&, const uint8_t* data, size_t len) override {
    ++packets;
    last.assign(data, data + std::min<size_t>(len, 512));
  }
  uint64_t packets = 0;
  std::vector<uint8_t> last;
};

struct MemRelays : RelaySocketFactory {
  struct Sock : RelaySocket {
    Sock(SocketAddress a, RelaySocket::Receiver& r) : addr(a), receiver(r) {}
    const SocketAddress& localAddress() const override { return addr; }
    bool send(const SocketAddress&, const uint8_t*, size_t len) override {
      bytes += len;
      return true;
    }
    SocketAddress addr;
    RelaySocket::Receiver& receiver;
    uint64_t bytes = 0;
  };
  bool supports(int) const override { return true; }
  Result<std::unique_ptr<RelaySocket>> open(int, RelaySocket::Receiver& r) override {
    auto s = std::make_unique<Sock>(*SocketAddress::fromIp("198.51.100.10", 50000), r);
    last = s.get();
    return std::unique_ptr<RelaySocket>(std::move(s));
  }
  Sock* last = nullptr;
};

struct Setup {
  Setup() {
    TurnServerOptions o;
    o.secrets = {"bench-secret-0123456789"};
    o.bandwidthBytesPerSecond = ~uint64_t{0} >> 16;
    o.bandwidthBurstBytes = ~uint64_t{0} >> 16;
    o.unixNow = [] { return int64_t{1700000000}; };
    const auto creds = mintTurnCredentials("bench", 1700003600, o.secrets[0], {}, 1700000000);
    const auto key = *longTermKeyMd5(creds.username, "medrelay", creds.password);
    server = std::make_unique<TurnServer>(
        nullptr, o, PeerPolicy::create({"198.51.100.0/24"}, {}).value(), relays, sink, metrics);
    client.remote = *SocketAddress::fromIp("203.0.113.7", 40000);
    client.transport = ClientTransport::kTcp;  // no amplification bound on the first request
    peer = *SocketAddress::fromIp("198.51.100.20", 5000);
    std::vector<uint8_t> buf(512);
    uint8_t seq = 0;
    auto request = [&](uint16_t method, bool auth, auto&& attrs) {
      StunMessage::TransactionId tid{};
      tid[0] = ++seq;
      StunBuilder b(buf, MessageClass::kRequest, method, tid);
      attrs(b);
      if (auth) {
        b.addString(attr::kUsername, creds.username);
        b.addString(attr::kRealm, "medrelay");
        b.addString(attr::kNonce, nonce);
        b.addMessageIntegrity(key);
      }
      auto w = b.finish();
      server->onClientPacket(client, w->data(), w->size());
    };
    request(method::kAllocate, false, [](StunBuilder& b) { b.addRequestedTransport(17); });
    nonce = std::string(*StunMessage::parse(sink.last)->nonce());
    request(method::kAllocate, true, [](StunBuilder& b) { b.addRequestedTransport(17); });
    request(method::kChannelBind, true, [&](StunBuilder& b) {
      b.addChannelNumber(0x4000);
      b.addXorAddress(attr::kXorPeerAddress, peer.toStun());
    });
    client.transport = ClientTransport::kTcp;
  }
  CountingSink sink;
  MemRelays relays;
  metrics::TurnWorkerMetrics metrics;
  std::unique_ptr<TurnServer> server;
  ClientTuple client;
  SocketAddress peer;
  std::string nonce;
};

void BM_TurnChannelDataToPeer(benchmark::State& state) {
  Setup s;
  const auto len = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> frame(4 + ((len + 3) & ~size_t{3}), 0xAB);
  frame[0] = 0x40;
  frame[1] = 0x00;
  frame[2] = static_cast<uint8_t>(len >> 8);
  frame[3] = static_cast<uint8_t>(len);
  for (auto _ : state) s.server->onClientPacket(s.client, frame.data(), frame.size());
  if (s.relays.last->bytes != len * state.iterations()) state.SkipWithError("packets dropped");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(len * state.iterations()));
}
BENCHMARK(BM_TurnChannelDataToPeer)->Arg(160)->Arg(1200);

void BM_TurnPeerToChannelData(benchmark::State& state) {
  Setup s;
  const auto len = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> payload(len, 0xCD);
  const uint64_t before = s.sink.packets;
  for (auto _ : state) s.relays.last->receiver.onPeerDatagram(s.peer, payload.data(), len);
  if (s.sink.packets - before != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("packets dropped");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(len * state.iterations()));
}
BENCHMARK(BM_TurnPeerToChannelData)->Arg(160)->Arg(1200);

void BM_TurnCopyCeiling(benchmark::State& state) {
  const auto len = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(len, 1);
  std::vector<uint8_t> dst(len + 4);
  for (auto _ : state) {
    std::memcpy(dst.data() + 4, src.data(), len);
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TurnCopyCeiling)->Arg(160)->Arg(1200);

}  // namespace

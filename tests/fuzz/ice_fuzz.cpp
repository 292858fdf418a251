// ICE-lite / WorkerTransport demux fuzz target: arbitrary datagrams enter through
// WorkerTransport::onPacket (the socket entry point) from a few source tuples, against one
// registered session with fixed credentials. No sockets: responses have nowhere to go and are
// counted, which is fine. Invariants: only tuples that passed a check carry media to the session.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "common/be_bytes.h"
#include "media/worker_transport.h"
#include "net/stun/stun_integrity.h"
#include "net/stun/stun_message.h"

using namespace medrelay;

namespace {

struct Sink : media::MediaSession, media::IceLite::Callbacks {
  media::IceLite* agent = nullptr;
  void check(const net::TransportTuple& from) {
    if (!agent->isValidPair(from)) std::abort();  // media from an unchecked tuple
  }
  void onDtlsPacket(const net::TransportTuple& f, uint8_t* d, size_t n) override {
    check(f);
    if (n > 0) d[0] ^= 1;  // buffers are writable
  }
  void onRtpPacket(const net::TransportTuple& f, uint8_t*, size_t n) override {
    check(f);
    if (n < 12) std::abort();
  }
  void onRtcpPacket(const net::TransportTuple& f, uint8_t*, size_t n) override {
    check(f);
    if (n < 8) std::abort();
  }
  void onIceSelectedPairChanged(const net::TransportTuple& t) override {
    if (!agent->isValidPair(t)) std::abort();
  }
  void onIceConnected() override {}
  void onIceConsentLost() override {}
};

constexpr const char* kUfrag = "fuzzufrg";
constexpr const char* kPassword = "fuzzpasswordfuzzpassword";

void resign(std::vector<uint8_t>& p) {
  const auto m = net::stun::StunMessage::parse(p);
  if (!m) return;
  const size_t mi = m->messageIntegrityOffset();
  const size_t fp = m->fingerprintOffset();
  if (mi != 0) {
    uint8_t saved[2] = {p[2], p[3]};
    storeBe16(&p[2], static_cast<uint16_t>(mi + 24 - net::stun::kHeaderSize));
    const std::span<const uint8_t> parts[] = {std::span<const uint8_t>(p.data(), mi)};
    net::stun::hmacSha1(net::stun::keyBytes(kPassword), parts,
                        std::span<uint8_t, 20>(p.data() + mi + 4, 20));
    p[2] = saved[0];
    p[3] = saved[1];
  }
  if (fp != 0) {
    storeBe32(&p[fp + 4], net::stun::crc32(std::span<const uint8_t>(p.data(), fp)) ^
                              net::stun::kFingerprintXor);
  }
}

struct World {
  net::Dispatcher dispatcher{"fuzz"};
  Sink sink;
  std::unique_ptr<media::WorkerTransport> transport;
  std::unique_ptr<media::IceLite> agent;
  World() { transport = std::move(media::WorkerTransport::create(dispatcher, {}).value()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  // Fresh session per input with fixed credentials so seeds can carry valid checks.
  w.agent = std::make_unique<media::IceLite>(w.dispatcher, w.sink);
  w.agent->setLocalCredentials(kUfrag, kPassword);
  w.agent->setRemoteCredentials("peer", "peerpasswordpeerpassword");
  w.sink.agent = w.agent.get();
  if (!w.transport->addSession(*w.agent, w.sink)) std::abort();

  // Input: records of [source byte][2-byte length][packet]. Source bits: 0x07 remote port,
  // 0x10 TCP, 0x20 IPv6, 0x80 "re-sign": MESSAGE-INTEGRITY and FINGERPRINT are recomputed with
  // our password so that mutated checks get past authentication.
  size_t off = 0;
  std::vector<uint8_t> packet;
  while (off + 3 <= size) {
    const uint8_t src = data[off];
    const size_t len = (static_cast<size_t>(data[off + 1]) << 8) | data[off + 2];
    off += 3;
    if (len > size - off) break;
    packet.assign(data + off, data + off + len);
    off += len;
    net::TransportTuple from;
    from.protocol = (src & 0x10) ? net::TransportProtocol::kTcp : net::TransportProtocol::kUdp;
    from.connectionId = from.protocol == net::TransportProtocol::kTcp ? (src & 3) + 1 : 0;
    from.remote = *net::SocketAddress::fromIp((src & 0x20) ? "::1" : "127.0.0.1",
                                              static_cast<uint16_t>(5000 + (src & 7)));
    if ((src & 0x80) != 0) resign(packet);
    w.transport->onPacket(from, packet.data(), packet.size());
  }
  w.transport->removeSession(*w.agent);
  if (w.transport->tupleCount() != 0 || w.transport->sessionCount() != 0) std::abort();
  w.agent.reset();
  return 0;
}

// TurnServer: the relayed data path (RFC 8656 §11 Send/Data indications, §12 ChannelData).
// No allocation, no exceptions; every drop is counted.
#include <algorithm>

#include "net/stun/channel_data.h"
#include "net/stun/stun_builder.h"
#include "net/turn/allocation.h"
#include "net/turn/channel_numbers.h"
#include "net/turn/turn_server.h"

namespace medrelay::net::turn {

using namespace stun;

bool TurnServer::takeTokens(Allocation& a, size_t len) {
  const uint64_t now = nowMs();
  if (now > a.tokensAtMs) {
    a.tokens = std::min<double>(
        static_cast<double>(options_.bandwidthBurstBytes),
        a.tokens + static_cast<double>(now - a.tokensAtMs) *
                       static_cast<double>(options_.bandwidthBytesPerSecond) / 1000.0);
    a.tokensAtMs = now;
  }
  if (a.tokens < static_cast<double>(len)) {
    ++counters_.bandwidthDropped;
    metrics_.quota_refusals[metrics::TurnQuota::kBandwidth].inc();
    return false;
  }
  a.tokens -= static_cast<double>(len);
  return true;
}

bool TurnServer::relayToPeer(Allocation& a, const SocketAddress& peer, const uint8_t* data,
                             size_t len) {
  if (!takeTokens(a, len)) return false;
  if (!localPeers_.empty()) {
    if (const auto it = localPeers_.find(peer); it != localPeers_.end()) {
      // In-process, no kernel round trip (docs/turn.md).
      if (!it->second->onRelayedDatagram(a.relayed, peer, data, len)) {
        ++counters_.relaySendFailed;
        return false;
      }
      metrics_.local_path_packets[metrics::Direction::kOut].inc();
      metrics_.relayed(metrics::Direction::kOut, len);
      return true;
    }
  }
  if (!a.relay->send(peer, data, len)) {
    ++counters_.relaySendFailed;
    return false;
  }
  metrics_.relayed(metrics::Direction::kOut, len);
  return true;
}

void TurnServer::handleChannelData(const ClientTuple& from, const uint8_t* data, size_t len) {
  const auto cd = parseChannelFrame({data, len}, from.transport != ClientTransport::kUdp);
  if (!cd) {
    ++counters_.malformed;
    return;
  }
  const auto it = allocations_.find(from);
  if (it == allocations_.end()) {
    ++counters_.noAllocation;
    return;
  }
  Allocation& a = *it->second;
  const uint64_t now = nowMs();
  const Channel* ch = a.channelByNumber(cd->channel, now);
  if (ch == nullptr) {
    ++counters_.noChannel;
    return;
  }
  // The binding was checked against the policy; the permission may have lapsed (§12.6).
  if (!a.permitted(ch->peer.toStun(), now)) {
    ++counters_.noPermission;
    return;
  }
  relayToPeer(a, ch->peer, cd->data.data(), cd->data.size());
}

void TurnServer::handleSend(const ClientTuple& from, const StunMessage& msg) {
  const auto it = allocations_.find(from);
  if (it == allocations_.end()) {
    ++counters_.noAllocation;
    return;
  }
  Allocation& a = *it->second;
  const auto peer = msg.xorPeerAddress();
  const auto payload = msg.data();
  if (!peer || !payload) {
    ++counters_.malformed;  // RFC 8656 §11.2: silently discarded
    return;
  }
  if (!policy_.allowed(*peer)) {  // every path, not only CreatePermission
    ++counters_.peerRefused;
    return;
  }
  if (!a.permitted(*peer, nowMs())) {
    ++counters_.noPermission;
    return;
  }
  relayToPeer(a, SocketAddress::fromStun(*peer), payload->data(), payload->size());
}

void TurnServer::onPeerDatagram(Allocation& a, const SocketAddress& from, const uint8_t* data,
                                size_t len) {
  const uint64_t now = nowMs();
  const StunAddress peer = from.toStun();
  if (!a.permitted(peer, now)) {  // RFC 8656 §11.3/§12.7
    ++counters_.noPermission;
    return;
  }
  const Channel* ch = a.channelByPeer(from, now);
  if (ch == nullptr && !policy_.allowed(peer)) {
    ++counters_.peerRefused;
    return;
  }
  if (!takeTokens(a, len)) return;
  const bool stream = a.client.transport != ClientTransport::kUdp;
  size_t out = 0;
  if (ch != nullptr) {
    if (len > 65535 || len + kChannelDataHeaderSize + 3 > tx_.size()) {
      ++counters_.malformed;
      return;
    }
    std::copy(data, data + len, tx_.begin() + kChannelDataHeaderSize);
    // ChannelData header (RFC 8656 §12.4), zero padding on streams (§12.5).
    storeBe16(tx_.data(), ch->number);
    storeBe16(tx_.data() + 2, static_cast<uint16_t>(len));
    out = kChannelDataHeaderSize + len;
    if (stream) {
      while (out % 4 != 0) tx_[out++] = 0;
    }
  } else {
    // Data indication (§11.3): XOR-PEER-ADDRESS and DATA, no integrity.
    StunBuilder b(tx_, MessageClass::kIndication, method::kData, a.allocateTid);
    b.addXorAddress(attr::kXorPeerAddress, peer);
    b.addAttribute(attr::kData, {data, len});
    const auto w = b.finish();
    if (!w) {
      ++counters_.malformed;
      return;
    }
    out = w->size();
  }
  metrics_.relayed(metrics::Direction::kIn, len);
  sink_.sendToClient(a.client, tx_.data(), out);
}

bool TurnServer::sendFromLocalPeer(const SocketAddress& sfuAddress, const SocketAddress& relayed,
                                   const uint8_t* data, size_t len) {
  const auto it = byRelay_.find(relayed);
  if (it == byRelay_.end()) {
    ++counters_.noAllocation;
    return false;
  }
  const uint64_t before = counters_.noPermission + counters_.peerRefused +
                          counters_.bandwidthDropped + counters_.malformed;
  onPeerDatagram(*it->second, sfuAddress, data, len);
  const bool delivered = before == counters_.noPermission + counters_.peerRefused +
                                       counters_.bandwidthDropped + counters_.malformed;
  if (delivered) metrics_.local_path_packets[metrics::Direction::kIn].inc();
  return delivered;
}

}  // namespace medrelay::net::turn

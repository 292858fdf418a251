// TurnServer: the authenticated requests (RFC 8656 §7-§12) and the allocation lifecycle.
#include <algorithm>

#include "common/logging.h"
#include "net/stun/stun_builder.h"
#include "net/turn/allocation.h"
#include "net/turn/channel_numbers.h"
#include "net/turn/turn_server.h"

namespace medrelay::net::turn {

using namespace stun;
using metrics::TurnQuota;

namespace {

constexpr size_t kMaxPeersPerRequest = 16;

metrics::Transport transportLabel(ClientTransport t) {
  switch (t) {
    case ClientTransport::kUdp:
      return metrics::Transport::kUdp;
    case ClientTransport::kTcp:
      return metrics::Transport::kTcp;
    case ClientTransport::kTls:
      return metrics::Transport::kTls;
  }
  return metrics::Transport::kOther;
}

SocketAddress sourceKey(const SocketAddress& a) {
  SocketAddress k = a;
  k.setPort(0);
  return k;
}

int familyOf(StunAddress::Family f) {
  return f == StunAddress::Family::kIPv4 ? AF_INET : AF_INET6;
}

StunAddress::Family familyOf(const SocketAddress& a) {
  return a.isIpv4() ? StunAddress::Family::kIPv4 : StunAddress::Family::kIPv6;
}

}  // namespace

// Lifetime granted (RFC 8656 §7.2 item 9 / §8): default when absent, at most max, never past the
// credential's expiry (REST credentials end with the invite's window).
static uint32_t grantLifetime(const TurnServerOptions& o, const StunMessage& m, int64_t credExpiry,
                              int64_t now) {
  uint32_t life = m.lifetime().value_or(o.defaultLifetime);
  life = std::clamp(life, std::min(o.defaultLifetime, o.maxLifetime), o.maxLifetime);
  const int64_t left = credExpiry - now;
  if (left < static_cast<int64_t>(life)) life = static_cast<uint32_t>(std::max<int64_t>(left, 1));
  return life;
}

void TurnServer::handleAllocate(Request& r) {
  const auto& m = r.msg;
  const auto it = allocations_.find(r.from);
  if (it != allocations_.end()) {
    Allocation& a = *it->second;
    if (a.allocateTid != m.transactionId() || a.username != r.username) {
      sendError(r, error::kAllocationMismatch, "Allocation Mismatch");
      return;
    }
    // A retransmitted Allocate (RFC 8656 §7.2): answer as before, below.
  } else {
    const auto transport = m.requestedTransport();
    if (!transport) {
      sendError(r, error::kBadRequest, "REQUESTED-TRANSPORT missing");
      return;
    }
    if (*transport != kTransportUdp) {  // RFC 6062 TCP relaying is not offered
      sendError(r, error::kUnsupportedTransportProtocol, "Unsupported Transport Protocol");
      return;
    }
    // EVEN-PORT is best effort here (no reservations: coturn's uclient sets R by default and
    // copes without a RESERVATION-TOKEN); a RESERVATION-TOKEN cannot be honoured (§7.2 → 508).
    if (m.has(attr::kReservationToken)) {
      sendError(r, error::kInsufficientCapacity, "Port reservation not supported");
      return;
    }
    if (m.has(attr::kRequestedAddressFamily) && m.has(attr::kAdditionalAddressFamily)) {
      sendError(r, error::kBadRequest, "Both address family attributes");  // RFC 8656 §7.2
      return;
    }
    auto family = StunAddress::Family::kIPv4;
    if (m.has(attr::kRequestedAddressFamily)) {
      const auto f = m.requestedAddressFamily();
      if (!f) {
        sendError(r, error::kAddressFamilyNotSupported, "Address Family not Supported");
        return;
      }
      family = *f;
    }
    if (!relays_.supports(familyOf(family))) {
      sendError(r, error::kAddressFamilyNotSupported, "Address Family not Supported");
      return;
    }
    // Quotas (RFC 8656 §7.2: 486 per user, 508 when the server is out of capacity).
    const std::string invite(r.rest.inviteId);
    const SocketAddress src = sourceKey(r.from.remote);
    if (allocations_.size() >= options_.maxAllocationsTotal) {
      metrics_.quota_refusals[TurnQuota::kAllocationsTotal].inc();
      sendError(r, error::kInsufficientCapacity, "Insufficient Capacity");
      return;
    }
    const auto inv = perInvite_.find(invite);
    const auto srcIt = perSource_.find(src);
    if ((inv != perInvite_.end() && inv->second >= options_.maxAllocationsPerInvite) ||
        (srcIt != perSource_.end() && srcIt->second >= options_.maxAllocationsPerSource)) {
      metrics_.quota_refusals[TurnQuota::kAllocationsPerUser].inc();
      sendError(r, error::kAllocationQuotaReached, "Allocation Quota Reached");
      return;
    }
    auto a = std::make_unique<Allocation>();
    auto relay = relays_.open(familyOf(family), *a);
    if (!relay) {
      MR_LOG_WARN(log::get("turn"), "relay socket: {}", relay.error().message);
      sendError(r, error::kInsufficientCapacity, "Insufficient Capacity");
      return;
    }
    a->server = this;
    a->client = r.from;
    a->username = std::string(r.username);
    a->inviteId = invite;
    a->credentialExpiry = r.rest.expiry;
    a->relay = std::move(relay).value();
    a->relayed = a->relay->localAddress();
    a->allocateTid = m.transactionId();
    a->tokens = static_cast<double>(options_.bandwidthBurstBytes);
    a->tokensAtMs = nowMs();
    const uint32_t life = grantLifetime(options_, m, a->credentialExpiry, unixNow());
    a->expiresMs = nowMs() + uint64_t{life} * 1000;
    byRelay_[a->relayed] = a.get();
    ++perInvite_[invite];
    ++perSource_[src];
    metrics_.allocations_active[transportLabel(r.from.transport)].inc();
    metrics_.allocations_created[transportLabel(r.from.transport)].inc();
    allocations_.emplace(r.from, std::move(a));
  }
  Allocation& a = *allocations_.at(r.from);
  const auto life = static_cast<uint32_t>((a.expiresMs - std::min(a.expiresMs, nowMs())) / 1000);
  auto b = r.start(tx_, MessageClass::kSuccessResponse);
  b.addXorAddress(attr::kXorRelayedAddress, a.relayed.toStun());
  b.addU32(attr::kLifetime, life);
  b.addXorAddress(attr::kXorMappedAddress, r.from.remote.toStun());
  if (options_.software) b.addString(attr::kSoftware, "medrelay");
  b.addMessageIntegrity(r.key);
  if (r.fingerprint) b.addFingerprint();
  if (auto w = b.finish()) sink_.sendToClient(r.from, w->data(), w->size());
}

// The requester's allocation (RFC 8656 §7.3–§11): 437 when its 5-tuple has none, 441 when it
// was created with other credentials; either error is sent here and nullptr returned.
TurnServer::Allocation* TurnServer::ownAllocation(Request& r) {
  const auto it = allocations_.find(r.from);
  if (it == allocations_.end()) {
    sendError(r, error::kAllocationMismatch, "Allocation Mismatch");
    return nullptr;
  }
  if (it->second->username != r.username) {
    sendError(r, error::kWrongCredentials, "Wrong Credentials");
    return nullptr;
  }
  return it->second.get();
}

void TurnServer::handleRefresh(Request& r) {
  Allocation* own = ownAllocation(r);
  if (own == nullptr) return;
  Allocation& a = *own;
  if (const auto f = r.msg.requestedAddressFamily(); f && *f != familyOf(a.relayed)) {
    sendError(r, error::kPeerAddressFamilyMismatch, "Peer Address Family Mismatch");
    return;
  }
  uint32_t life = 0;
  if (r.msg.lifetime().value_or(1) == 0) {
    destroyAllocation(r.from);  // RFC 8656 §8: lifetime 0 deletes
  } else {
    a.credentialExpiry = r.rest.expiry;
    life = grantLifetime(options_, r.msg, a.credentialExpiry, unixNow());
    a.expiresMs = nowMs() + uint64_t{life} * 1000;
  }
  auto b = r.start(tx_, MessageClass::kSuccessResponse);
  b.addU32(attr::kLifetime, life);
  if (options_.software) b.addString(attr::kSoftware, "medrelay");
  b.addMessageIntegrity(r.key);
  if (r.fingerprint) b.addFingerprint();
  if (auto w = b.finish()) sink_.sendToClient(r.from, w->data(), w->size());
}

// Installs or refreshes the permission for peer's IP; false when the quota is full.
static bool installPermission(std::vector<Permission>& perms, const StunAddress& peer,
                              uint64_t expires, size_t max) {
  for (auto& p : perms) {
    if (p.ip.family == peer.family && p.ip.ip == peer.ip) {
      p.expiresMs = expires;
      return true;
    }
  }
  if (perms.size() >= max) return false;
  Permission p;
  p.ip = peer;
  p.ip.port = 0;
  p.expiresMs = expires;
  perms.push_back(p);
  return true;
}

void TurnServer::handleCreatePermission(Request& r) {
  Allocation* own = ownAllocation(r);
  if (own == nullptr) return;
  Allocation& a = *own;
  std::array<StunAddress, kMaxPeersPerRequest> peers{};
  const size_t n = std::min(r.msg.xorPeerAddresses(peers), peers.size());
  if (n == 0) {
    sendError(r, error::kBadRequest, "XOR-PEER-ADDRESS missing");
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!policy_.allowed(peers[i])) {  // RFC 8656 §10.2 item 3, before the family check
      ++counters_.peerRefused;
      sendError(r, error::kForbidden, "Forbidden");
      return;
    }
    if (peers[i].family != familyOf(a.relayed)) {
      sendError(r, error::kPeerAddressFamilyMismatch, "Peer Address Family Mismatch");
      return;
    }
  }
  const uint64_t expires = nowMs() + uint64_t{options_.permissionLifetime} * 1000;
  size_t added = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t before = a.permissions.size();
    if (!installPermission(a.permissions, peers[i], expires,
                           options_.maxPermissionsPerAllocation)) {
      metrics_.quota_refusals[TurnQuota::kPermissions].inc();
      metrics_.permissions_active.add(static_cast<int64_t>(added));
      sendError(r, error::kInsufficientCapacity, "Too many permissions");
      return;
    }
    added += a.permissions.size() - before;
  }
  metrics_.permissions_active.add(static_cast<int64_t>(added));
  auto b = r.start(tx_, MessageClass::kSuccessResponse);
  b.addMessageIntegrity(r.key);
  if (r.fingerprint) b.addFingerprint();
  if (auto w = b.finish()) sink_.sendToClient(r.from, w->data(), w->size());
}

void TurnServer::handleChannelBind(Request& r) {
  Allocation* own = ownAllocation(r);
  if (own == nullptr) return;
  Allocation& a = *own;
  const auto number = channelNumberOf(r.msg);
  const auto peer = r.msg.xorPeerAddress();
  if (!number || !peer) {
    sendError(r, error::kBadRequest, "CHANNEL-NUMBER or XOR-PEER-ADDRESS missing");
    return;
  }
  if (!policy_.allowed(*peer)) {
    ++counters_.peerRefused;
    sendError(r, error::kForbidden, "Forbidden");
    return;
  }
  if (peer->family != familyOf(a.relayed)) {
    sendError(r, error::kPeerAddressFamilyMismatch, "Peer Address Family Mismatch");
    return;
  }
  const SocketAddress peerAddr = SocketAddress::fromStun(*peer);
  const uint64_t now = nowMs();
  Channel* existing = nullptr;
  for (auto& c : a.channels) {
    const bool sameNumber = c.number == *number;
    const bool samePeer = c.peer == peerAddr;
    if (sameNumber != samePeer) {  // RFC 8656 §11.2 items 3-4
      sendError(r, error::kBadRequest, "Channel bound to another peer");
      return;
    }
    if (sameNumber) existing = &c;
  }
  if (existing == nullptr && a.channels.size() >= options_.maxChannelsPerAllocation) {
    metrics_.quota_refusals[TurnQuota::kChannels].inc();
    sendError(r, error::kInsufficientCapacity, "Too many channels");
    return;
  }
  const size_t permsBefore = a.permissions.size();
  if (!installPermission(a.permissions, *peer, now + uint64_t{options_.permissionLifetime} * 1000,
                         options_.maxPermissionsPerAllocation)) {
    metrics_.quota_refusals[TurnQuota::kPermissions].inc();
    sendError(r, error::kInsufficientCapacity, "Too many permissions");
    return;
  }
  metrics_.permissions_active.add(static_cast<int64_t>(a.permissions.size() - permsBefore));
  const uint64_t expires = now + uint64_t{options_.channelLifetime} * 1000;
  if (existing != nullptr) {
    existing->expiresMs = expires;
  } else {
    a.channels.push_back({*number, peerAddr, expires});
    metrics_.channels_active.inc();
  }
  auto b = r.start(tx_, MessageClass::kSuccessResponse);
  b.addMessageIntegrity(r.key);
  if (r.fingerprint) b.addFingerprint();
  if (auto w = b.finish()) sink_.sendToClient(r.from, w->data(), w->size());
}

// ---- lifecycle ---------------------------------------------------------------------------

void TurnServer::destroyAllocation(const ClientTuple& key) {
  const auto it = allocations_.find(key);
  if (it == allocations_.end()) return;
  std::unique_ptr<Allocation> a = std::move(it->second);
  allocations_.erase(it);
  byRelay_.erase(a->relayed);
  if (auto inv = perInvite_.find(a->inviteId); inv != perInvite_.end() && --inv->second == 0) {
    perInvite_.erase(inv);
  }
  const SocketAddress src = sourceKey(a->client.remote);
  if (auto s = perSource_.find(src); s != perSource_.end() && --s->second == 0) {
    perSource_.erase(s);
  }
  metrics_.allocations_active[transportLabel(a->client.transport)].dec();
  metrics_.permissions_active.add(-static_cast<int64_t>(a->permissions.size()));
  metrics_.channels_active.add(-static_cast<int64_t>(a->channels.size()));
}

void TurnServer::onClientClosed(const ClientTuple& from) {
  destroyAllocation(from);
}

size_t TurnServer::revokeInvite(std::string_view inviteId) {
  const int64_t now = unixNow();
  if (revoked_.size() >= kMaxRevoked) {
    std::erase_if(revoked_,
                  [now](const auto& e) { return now - e.second > kRevokedRetentionSeconds; });
    if (revoked_.size() >= kMaxRevoked) revoked_.erase(revoked_.begin());
  }
  revoked_[std::string(inviteId)] = now;
  std::vector<ClientTuple> doomed;
  for (const auto& [key, a] : allocations_) {
    if (a->inviteId == inviteId) doomed.push_back(key);
  }
  for (const auto& key : doomed) destroyAllocation(key);
  if (!doomed.empty()) {
    MR_LOG_INFO(log::get("turn"), "invite revoked: {} allocation(s) torn down", doomed.size());
  }
  return doomed.size();
}

void TurnServer::sweep() {
  const uint64_t now = nowMs();
  std::vector<ClientTuple> doomed;
  for (auto& [key, a] : allocations_) {
    if (a->expiresMs <= now) {
      doomed.push_back(key);
      continue;
    }
    const auto perms = a->permissions.size();
    std::erase_if(a->permissions, [now](const Permission& p) { return p.expiresMs <= now; });
    metrics_.permissions_active.add(-static_cast<int64_t>(perms - a->permissions.size()));
    const auto chans = a->channels.size();
    std::erase_if(a->channels, [now](const Channel& c) { return c.expiresMs <= now; });
    metrics_.channels_active.add(-static_cast<int64_t>(chans - a->channels.size()));
  }
  for (const auto& key : doomed) destroyAllocation(key);
}

}  // namespace medrelay::net::turn

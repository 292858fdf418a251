#include "net/turn/turn_server.h"

#include <algorithm>
#include <chrono>

#include "common/logging.h"
#include "net/stun/channel_data.h"
#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/turn/allocation.h"

namespace medrelay::net::turn {

using namespace stun;
using metrics::TurnAuthFailure;

namespace {

constexpr size_t kTxBytes = 65536 + 64;
constexpr size_t kRateSlots = 4096;
std::span<const uint8_t> ipBytes(const StunAddress& a) {
  return {a.ip.data(), a.ipSize()};
}

SocketAddress sourceKey(const SocketAddress& a) {
  SocketAddress k = a;
  k.setPort(0);
  return k;
}

}  // namespace

TurnServer::TurnServer(Dispatcher* dispatcher, TurnServerOptions options, PeerPolicy policy,
                       RelaySocketFactory& relays, ClientSink& sink,
                       metrics::TurnWorkerMetrics& metrics, InviteLiveness* liveness)
    : options_(std::move(options)),
      policy_(std::move(policy)),
      relays_(relays),
      sink_(sink),
      metrics_(metrics),
      liveness_(liveness),
      nonces_(options_.nonceLifetime),
      unauthorizedSlots_(kRateSlots),
      tx_(kTxBytes) {
  if (!options_.nowMs) {
    options_.nowMs = [] {
      return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
    };
  }
  if (!options_.unixNow) {
    options_.unixNow = [] {
      return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    };
  }
  if (dispatcher != nullptr) {
    sweepTimer_ = std::make_unique<Timer>(*dispatcher, [this] { sweep(); });
    sweepTimer_->start(std::chrono::seconds(1), std::chrono::seconds(1));
  }
}

TurnServer::~TurnServer() {
  while (!allocations_.empty()) destroyAllocation(allocations_.begin()->first);
}

void TurnServer::setSecrets(std::vector<std::string> secrets) {
  options_.secrets = std::move(secrets);
}

void TurnServer::registerLocalPeer(const SocketAddress& sfuAddress, LocalPeer& peer) {
  localPeers_[sfuAddress] = &peer;
  policy_.addOwnAddress(sfuAddress);
}

// ---- entry point -------------------------------------------------------------------------

void TurnServer::onClientPacket(const ClientTuple& from, const uint8_t* data, size_t len) {
  const std::span<const uint8_t> bytes(data, len);
  if (len >= 1 && (data[0] & 0xC0) == 0x40) {  // RFC 8656 §12: first two bits 01
    handleChannelData(from, data, len);
    return;
  }
  const auto msg = StunMessage::parse(bytes);
  if (!msg) {
    ++counters_.malformed;
    return;
  }
  switch (msg->messageClass()) {
    case MessageClass::kIndication:
      if (msg->method() == method::kSend) handleSend(from, *msg);
      return;  // other indications are ignored (RFC 8489 §6.3.2)
    case MessageClass::kRequest:
      handleStun(from, *msg, len);
      return;
    default:
      return;  // responses are not for a server
  }
}

void TurnServer::handleStun(const ClientTuple& from, const StunMessage& msg, size_t reqLen) {
  Request r{from, msg, reqLen, false, false, {}, {}, {}};
  r.fingerprint = msg.fingerprintOffset() != 0;
  if (r.fingerprint && checkFingerprint(msg) != IntegrityResult::kOk) {
    ++counters_.malformed;
    return;  // RFC 8489 §7.3: a bad FINGERPRINT means not STUN
  }
  if (msg.method() == method::kBinding) {
    handleBinding(from, msg, reqLen);
    return;
  }
  // RFC 8489 §6.3.1.1: unknown comprehension-required attributes → 420.
  std::array<uint16_t, 8> unknown{};
  if (const size_t n = msg.unknownComprehensionRequired(unknown); n > 0) {
    auto b = r.start(tx_, MessageClass::kErrorResponse);
    b.addErrorCode(error::kUnknownAttribute, "");
    b.addUnknownAttributes(std::span<const uint16_t>(unknown.data(), std::min(n, unknown.size())));
    if (r.fingerprint) b.addFingerprint();
    if (auto w = b.finish()) sendUnauth(from, *w, reqLen);
    return;
  }
  switch (msg.method()) {
    case method::kAllocate:
    case method::kRefresh:
    case method::kCreatePermission:
    case method::kChannelBind:
      break;
    case method::kConnect:
    case method::kConnectionBind:
    default:
      // RFC 6062 TCP relaying is not offered (Allocate with TCP gets 442); unknown methods: 400.
      sendError(r, error::kBadRequest, "");
      return;
  }
  if (!authenticate(r)) return;
  switch (msg.method()) {
    case method::kAllocate:
      handleAllocate(r);
      break;
    case method::kRefresh:
      handleRefresh(r);
      break;
    case method::kCreatePermission:
      handleCreatePermission(r);
      break;
    case method::kChannelBind:
      handleChannelBind(r);
      break;
    default:
      break;
  }
}

void TurnServer::handleBinding(const ClientTuple& from, const StunMessage& msg, size_t reqLen) {
  // RFC 8489 §6.3.1: Binding needs no authentication; answer XOR-MAPPED-ADDRESS only.
  StunBuilder b(tx_, MessageClass::kSuccessResponse, method::kBinding, msg.transactionId());
  b.addXorAddress(attr::kXorMappedAddress, from.remote.toStun());
  if (options_.software) b.addString(attr::kSoftware, "medrelay");
  if (msg.fingerprintOffset() != 0) b.addFingerprint();
  if (auto w = b.finish()) sendUnauth(from, *w, reqLen);
}

// ---- authentication (RFC 8489 §9.2.4) ----------------------------------------------------

bool TurnServer::rateLimitUnauthorized(const SocketAddress& from) {
  RateSlot& s = unauthorizedSlots_[sourceKey(from).hash() % unauthorizedSlots_.size()];
  const uint64_t now = nowMs();
  if (s.lastMs == 0) s.tokens = options_.unauthorizedBurst;
  s.tokens = std::min<double>(options_.unauthorizedBurst,
                              s.tokens + static_cast<double>(now - std::min(now, s.lastMs)) *
                                             options_.unauthorizedPerSecond / 1000.0);
  s.lastMs = std::max<uint64_t>(now, 1);
  if (s.tokens < 1.0) {
    ++counters_.unauthorizedRateLimited;
    return false;
  }
  s.tokens -= 1.0;
  return true;
}

// The size of a bare 401 challenge: header, ERROR-CODE without reason, REALM, NONCE and the
// FINGERPRINT a request with one gets back (RFC 8656 §7.2 needs REALM and NONCE; nothing smaller
// lets a client authenticate).
size_t TurnServer::bareChallengeSize() const {
  auto padded = [](size_t n) { return 4 + ((n + 3) & ~size_t{3}); };
  return 20 + padded(4) + padded(options_.realm.size()) + padded(NonceCodec::kNonceChars) + 8;
}

void TurnServer::sendUnauth(const ClientTuple& to, std::span<const uint8_t> msg, size_t reqLen) {
  // Over UDP the source address is unproven: never answer with more than ratio × the request,
  // except that a bare challenge is always allowed. Browsers' first Allocate is as small as 28
  // bytes (header + REQUESTED-TRANSPORT); under a strict ratio they could never authenticate over
  // UDP. The worst case stays bounded: 64 bytes out for 28 in (2.3×), 72 for 36 with FINGERPRINT.
  const double allowed = std::max(options_.maxUnauthRatio * static_cast<double>(reqLen),
                                  static_cast<double>(bareChallengeSize()));
  if (to.transport == ClientTransport::kUdp && static_cast<double>(msg.size()) > allowed) {
    ++counters_.amplificationDropped;
    return;
  }
  sink_.sendToClient(to, msg.data(), msg.size());
}

void TurnServer::sendChallenge(Request& r, uint16_t code) {
  if (code == error::kUnauthorized && !rateLimitUnauthorized(r.from.remote)) return;
  std::array<char, NonceCodec::kNonceChars> nonce{};
  nonces_.make(ipBytes(r.from.remote.toStun()), static_cast<uint64_t>(unixNow()), nonce);
  auto b = r.start(tx_, MessageClass::kErrorResponse);
  // Empty reason phrases keep the challenge small (amplification bound).
  b.addErrorCode(code, "");
  b.addString(attr::kRealm, options_.realm);
  b.addString(attr::kNonce, std::string_view(nonce.data(), nonce.size()));
  if (r.fingerprint) b.addFingerprint();
  if (auto w = b.finish()) sendUnauth(r.from, *w, r.reqLen);
}

bool TurnServer::authenticate(Request& r) {
  const auto& m = r.msg;
  if (!m.messageIntegrity()) {
    sendChallenge(r, error::kUnauthorized);  // the normal first round trip, not a failure
    return false;
  }
  const auto user = m.username();
  const auto realm = m.realm();
  const auto nonce = m.nonce();
  if (!user || !realm || !nonce) {
    sendError(r, error::kBadRequest, "");
    return false;
  }
  const auto ip = r.from.remote.toStun();
  if (nonces_.check(*nonce, ipBytes(ip), static_cast<uint64_t>(unixNow())) !=
      NonceCodec::Check::kValid) {
    sendChallenge(r, error::kStaleNonce);
    return false;
  }
  auto fail = [&](TurnAuthFailure why) {
    metrics_.auth_failures[why].inc();
    sendChallenge(r, error::kUnauthorized);
    return false;
  };
  if (*realm != options_.realm) return fail(TurnAuthFailure::kOther);
  const auto rest = parseRestUsername(*user);
  if (!rest) return fail(TurnAuthFailure::kUnknownUser);
  if (rest->expiry <= unixNow()) return fail(TurnAuthFailure::kExpired);
  if (liveness_ != nullptr && !liveness_->isLive(rest->inviteId)) {
    return fail(TurnAuthFailure::kExpired);
  }
  if (!revoked_.empty() && revoked_.count(std::string(rest->inviteId)) != 0) {
    return fail(TurnAuthFailure::kExpired);
  }
  for (const auto& secret : options_.secrets) {
    const auto key = longTermKeyMd5(*user, *realm, restPassword(secret, *user));
    if (key && checkMessageIntegrity(m, *key) == IntegrityResult::kOk) {
      r.authed = true;
      r.key = *key;
      r.username = *user;
      r.rest = *rest;
      return true;
    }
  }
  return fail(TurnAuthFailure::kBadIntegrity);
}

void TurnServer::sendError(Request& r, uint16_t code, std::string_view reason) {
  auto b = r.start(tx_, MessageClass::kErrorResponse);
  b.addErrorCode(code, r.authed ? reason : std::string_view());
  if (options_.software && r.authed) b.addString(attr::kSoftware, "medrelay");
  if (r.authed) b.addMessageIntegrity(r.key);
  if (r.fingerprint) b.addFingerprint();
  const auto w = b.finish();
  if (!w) return;
  if (r.authed) {
    sink_.sendToClient(r.from, w->data(), w->size());
  } else {
    sendUnauth(r.from, *w, r.reqLen);
  }
}

}  // namespace medrelay::net::turn

#include "media/ice_lite.h"

#include <openssl/rand.h>

#include "common/assert.h"
#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::media {

namespace stun = net::stun;

namespace {

constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static_assert(kIceChars.size() == 64);

constexpr size_t kMaxUnknownReported = 16;

const char* reasonPhrase(uint16_t code) {
  switch (code) {
    case stun::error::kBadRequest:
      return "Bad Request";
    case stun::error::kUnauthorized:
      return "Unauthorized";
    case stun::error::kUnknownAttribute:
      return "Unknown Attribute";
    case stun::error::kRoleConflict:
      return "Role Conflict";
    default:
      return "Error";
  }
}

}  // namespace

const char* IceLite::rejectName(Reject r) {
  switch (r) {
    case Reject::kBadFingerprint:
      return "bad_fingerprint";
    case Reject::kBadIntegrity:
      return "bad_integrity";
    case Reject::kBadUsername:
      return "bad_username";
    case Reject::kConsentLost:
      return "consent_lost";
    case Reject::kMissingCredentials:
      return "missing_credentials";
    case Reject::kNotBindingRequest:
      return "not_binding_request";
    case Reject::kRoleConflict:
      return "role_conflict";
    case Reject::kUnknownAttribute:
      return "unknown_attribute";
    case Reject::kCount:
      break;
  }
  return "unknown";
}

std::string IceLite::randomIceString(size_t chars) {
  std::string out(chars, 'A');
  std::array<uint8_t, 64> rnd;
  size_t done = 0;
  while (done < chars) {
    const size_t n = std::min(rnd.size(), chars - done);
    MEDRELAY_ASSERT(RAND_bytes(rnd.data(), static_cast<int>(n)) == 1, "RAND_bytes");
    // 64 ice-chars: six bits per byte, no modulo bias.
    for (size_t i = 0; i < n; ++i) out[done + i] = kIceChars[rnd[i] & 63];
    done += n;
  }
  return out;
}

IceLite::IceLite(net::Dispatcher& dispatcher, Callbacks& callbacks, Options options)
    : dispatcher_(dispatcher),
      callbacks_(callbacks),
      options_(options),
      localUfrag_(randomIceString(kUfragChars)),
      localPassword_(randomIceString(kPasswordChars)),
      consentTimer_(dispatcher, [this] { onConsentTimer(); }) {}

void IceLite::setRemoteCredentials(std::string_view ufrag, std::string_view password) {
  remoteUfrag_ = ufrag;
  remotePassword_ = password;
}

void IceLite::restart(std::string_view remoteUfrag, std::string_view remotePassword) {
  localUfrag_ = randomIceString(kUfragChars);
  localPassword_ = randomIceString(kPasswordChars);
  setRemoteCredentials(remoteUfrag, remotePassword);
  if (state_ == State::kConsentLost) {
    state_ = State::kNew;
    hasSelected_ = false;
    consentTimer_.stop();
  }
  // RFC 8445 §9: the restart resets the valid pairs, but media keeps flowing on the previously
  // selected pair (and its consent timer keeps running) until a new pair is nominated.
  pairCount_ = 0;
  if (hasSelected_) {
    pairs_[0] = selected_;
    pairLastCheckMs_[0] = dispatcher_.nowMs();
    pairCount_ = 1;
  }
}

bool IceLite::isValidPair(const net::TransportTuple& tuple) const {
  for (size_t i = 0; i < pairCount_; ++i) {
    if (pairs_[i] == tuple) return true;
  }
  return false;
}

void IceLite::removePair(const net::TransportTuple& tuple) {
  for (size_t i = 0; i < pairCount_; ++i) {
    if (pairs_[i] == tuple) {
      pairs_[i] = pairs_[pairCount_ - 1];
      pairLastCheckMs_[i] = pairLastCheckMs_[pairCount_ - 1];
      --pairCount_;
      break;
    }
  }
  // The consent timer keeps running: without a new nomination consent is lost.
  if (hasSelected_ && selected_ == tuple) hasSelected_ = false;
}

bool IceLite::addPair(const net::TransportTuple& tuple, CheckResult& result) {
  const uint64_t now = dispatcher_.nowMs();
  for (size_t i = 0; i < pairCount_; ++i) {
    if (pairs_[i] == tuple) {
      pairLastCheckMs_[i] = now;
      return false;
    }
  }
  size_t slot = pairCount_;
  if (pairCount_ == kMaxValidPairs) {
    // Forget the least recently checked pair that is not selected.
    slot = kMaxValidPairs;
    for (size_t i = 0; i < pairCount_; ++i) {
      if (hasSelected_ && pairs_[i] == selected_) continue;
      if (slot == kMaxValidPairs || pairLastCheckMs_[i] < pairLastCheckMs_[slot]) slot = i;
    }
    result.evicted = pairs_[slot];
  } else {
    ++pairCount_;
  }
  pairs_[slot] = tuple;
  pairLastCheckMs_[slot] = now;
  return true;
}

void IceLite::select(const net::TransportTuple& tuple) {
  ++counters_.nominations;
  const bool changed = !hasSelected_ || !(selected_ == tuple);
  selected_ = tuple;
  hasSelected_ = true;
  refreshConsent();
  if (changed) {
    ++counters_.selectedPairChanges;
    callbacks_.onIceSelectedPairChanged(tuple);
  }
  if (state_ == State::kNew) {
    state_ = State::kConnected;
    callbacks_.onIceConnected();
  }
}

void IceLite::refreshConsent() {
  consentTimer_.start(options_.consentTimeout);
}

void IceLite::onConsentTimer() {
  if (state_ == State::kConsentLost) return;
  state_ = State::kConsentLost;
  ++counters_.consentLost;
  callbacks_.onIceConsentLost();
}

IceLite::CheckResult IceLite::reject(Reject r, uint16_t code, const stun::StunMessage& msg,
                                     std::span<uint8_t> out, bool withIntegrity,
                                     std::span<const uint16_t> unknown) {
  ++counters_.rejects[static_cast<size_t>(r)];
  CheckResult result;
  result.reject = r;
  if (code == 0) return result;
  stun::StunBuilder b(out, stun::MessageClass::kErrorResponse, stun::method::kBinding,
                      msg.transactionId());
  b.addErrorCode(code, reasonPhrase(code));
  if (!unknown.empty()) b.addUnknownAttributes(unknown);
  // 400/401 carry no MESSAGE-INTEGRITY (RFC 8489 §9.1.3); responses to authenticated requests do.
  if (withIntegrity) b.addMessageIntegrity(stun::keyBytes(localPassword_));
  b.addFingerprint();
  if (auto wire = b.finish()) result.response = *wire;
  return result;
}

IceLite::CheckResult IceLite::handleStun(const net::TransportTuple& from,
                                         const stun::StunMessage& msg, std::span<uint8_t> out) {
  if (msg.method() != stun::method::kBinding ||
      msg.messageClass() != stun::MessageClass::kRequest) {
    // Binding indications are keepalives (RFC 8445 §11); we never send requests, so responses
    // are stray. Nothing is answered.
    return reject(Reject::kNotBindingRequest, 0, msg, out, false);
  }
  // FINGERPRINT is mandatory for ICE (RFC 8445 §7.2.2); a bad one means "not STUN": drop.
  if (stun::checkFingerprint(msg) != stun::IntegrityResult::kOk) {
    return reject(Reject::kBadFingerprint, 0, msg, out, false);
  }
  const auto username = msg.username();
  if (!username || !msg.messageIntegrity()) {
    return reject(Reject::kMissingCredentials, stun::error::kBadRequest, msg, out, false);
  }
  // USERNAME is "<our ufrag>:<peer ufrag>" (RFC 8445 §7.2.2).
  const auto colon = username->find(':');
  if (colon == std::string_view::npos || username->substr(0, colon) != localUfrag_ ||
      (!remoteUfrag_.empty() && username->substr(colon + 1) != remoteUfrag_)) {
    return reject(Reject::kBadUsername, stun::error::kUnauthorized, msg, out, false);
  }
  if (stun::checkMessageIntegrity(msg, stun::keyBytes(localPassword_)) !=
      stun::IntegrityResult::kOk) {
    return reject(Reject::kBadIntegrity, stun::error::kUnauthorized, msg, out, false);
  }
  // Authenticated from here on: error responses carry MESSAGE-INTEGRITY.
  std::array<uint16_t, kMaxUnknownReported> unknown;
  if (const size_t n = msg.unknownComprehensionRequired(unknown); n > 0) {
    return reject(Reject::kUnknownAttribute, stun::error::kUnknownAttribute, msg, out, true,
                  std::span<const uint16_t>(unknown.data(), std::min(n, unknown.size())));
  }
  // A lite agent is always controlled (RFC 8445 §6.1.1); a peer that also claims the controlled
  // role gets 487 so it switches to controlling (§7.3.1.1).
  if (msg.iceControlled() && !msg.iceControlling()) {
    return reject(Reject::kRoleConflict, stun::error::kRoleConflict, msg, out, true);
  }
  if (state_ == State::kConsentLost) return reject(Reject::kConsentLost, 0, msg, out, false);

  CheckResult result;
  stun::StunBuilder b(out, stun::MessageClass::kSuccessResponse, stun::method::kBinding,
                      msg.transactionId());
  b.addXorAddress(stun::attr::kXorMappedAddress, from.remote.toStun());
  b.addMessageIntegrity(stun::keyBytes(localPassword_));
  b.addFingerprint();
  const auto wire = b.finish();
  MEDRELAY_ASSERT(wire.has_value(), "ICE response buffer too small");
  result.response = *wire;
  result.success = true;
  ++counters_.checksOk;
  lastCheckMs_ = dispatcher_.nowMs();

  result.newValidPair = addPair(from, result);
  if (msg.useCandidate()) {
    select(from);  // the newest nomination wins (the peer may move to another path)
  } else if (hasSelected_ && selected_ == from) {
    refreshConsent();  // RFC 7675 §5.1: a check on the selected pair renews consent
  }
  return result;
}

}  // namespace medrelay::media

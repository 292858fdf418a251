#pragma once

// STUN/TURN wire constants: RFC 8489 (STUN), RFC 8656 (TURN), RFC 6062 (TURN-TCP),
// RFC 8445 (ICE), RFC 5780 (NAT behaviour discovery).

#include <cstddef>
#include <cstdint>

namespace medrelay::net::stun {

inline constexpr uint32_t kMagicCookie = 0x2112A442;  // RFC 8489 §5
inline constexpr size_t kHeaderSize = 20;
inline constexpr size_t kTransactionIdSize = 12;
inline constexpr uint32_t kFingerprintXor = 0x5354554E;  // RFC 8489 §14.7
// A message with more attributes than this is dropped (DoS bound; real messages carry < 20).
inline constexpr size_t kMaxAttributes = 64;

// Message class, RFC 8489 §5 (C1 C0 bits).
enum class MessageClass : uint8_t {
  kRequest = 0,
  kIndication = 1,
  kSuccessResponse = 2,
  kErrorResponse = 3,
};

// Methods: RFC 8489 §18.2, RFC 8656 §17, RFC 6062 §6.1.
namespace method {
inline constexpr uint16_t kBinding = 0x001;
inline constexpr uint16_t kAllocate = 0x003;
inline constexpr uint16_t kRefresh = 0x004;
inline constexpr uint16_t kSend = 0x006;
inline constexpr uint16_t kData = 0x007;
inline constexpr uint16_t kCreatePermission = 0x008;
inline constexpr uint16_t kChannelBind = 0x009;
inline constexpr uint16_t kConnect = 0x00A;
inline constexpr uint16_t kConnectionBind = 0x00B;
inline constexpr uint16_t kConnectionAttempt = 0x00C;
}  // namespace method

// Attribute types. Below 0x8000 = comprehension-required (RFC 8489 §14).
namespace attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kChangeRequest = 0x0003;  // RFC 5780
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kChannelNumber = 0x000C;
inline constexpr uint16_t kLifetime = 0x000D;
inline constexpr uint16_t kXorPeerAddress = 0x0012;
inline constexpr uint16_t kData = 0x0013;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kXorRelayedAddress = 0x0016;
inline constexpr uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr uint16_t kEvenPort = 0x0018;
inline constexpr uint16_t kRequestedTransport = 0x0019;
inline constexpr uint16_t kDontFragment = 0x001A;
inline constexpr uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr uint16_t kUserhash = 0x001E;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kReservationToken = 0x0022;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kPadding = 0x0026;       // RFC 5780
inline constexpr uint16_t kResponsePort = 0x0027;  // RFC 5780
inline constexpr uint16_t kConnectionId = 0x002A;  // RFC 6062
inline constexpr uint16_t kAdditionalAddressFamily = 0x8000;
inline constexpr uint16_t kAddressErrorCode = 0x8001;
inline constexpr uint16_t kPasswordAlgorithms = 0x8002;
inline constexpr uint16_t kAlternateDomain = 0x8003;
inline constexpr uint16_t kIcmp = 0x8004;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kAlternateServer = 0x8023;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;
inline constexpr uint16_t kResponseOrigin = 0x802B;
inline constexpr uint16_t kOtherAddress = 0x802C;

inline constexpr bool isComprehensionRequired(uint16_t type) {
  return type < 0x8000;
}
// True for the comprehension-required types this codec understands; others trigger 420.
bool isKnownComprehensionRequired(uint16_t type);
}  // namespace attr

// Error codes used by the ICE and TURN servers (RFC 8489 §14.8, RFC 8656 §19, RFC 8445 §7.3.1.1).
namespace error {
inline constexpr uint16_t kTryAlternate = 300;
inline constexpr uint16_t kBadRequest = 400;
inline constexpr uint16_t kUnauthorized = 401;
inline constexpr uint16_t kForbidden = 403;
inline constexpr uint16_t kUnknownAttribute = 420;
inline constexpr uint16_t kAllocationMismatch = 437;
inline constexpr uint16_t kStaleNonce = 438;
inline constexpr uint16_t kAddressFamilyNotSupported = 440;
inline constexpr uint16_t kWrongCredentials = 441;
inline constexpr uint16_t kUnsupportedTransportProtocol = 442;
inline constexpr uint16_t kPeerAddressFamilyMismatch = 443;
inline constexpr uint16_t kConnectionAlreadyExists = 446;  // RFC 6062
inline constexpr uint16_t kConnectionTimeoutOrFailure = 447;
inline constexpr uint16_t kAllocationQuotaReached = 486;
inline constexpr uint16_t kRoleConflict = 487;
inline constexpr uint16_t kServerError = 500;
inline constexpr uint16_t kInsufficientCapacity = 508;
}  // namespace error

// Message type field from method + class, RFC 8489 §5 figure 3 (interleaved bits).
inline constexpr uint16_t messageType(uint16_t m, MessageClass c) {
  const auto cls = static_cast<uint16_t>(c);
  return static_cast<uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                               ((cls & 0x1) << 4) | ((cls & 0x2) << 7));
}
inline constexpr uint16_t methodOf(uint16_t type) {
  return static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
inline constexpr MessageClass classOf(uint16_t type) {
  return static_cast<MessageClass>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}

}  // namespace medrelay::net::stun

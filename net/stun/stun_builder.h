#pragma once

// Writes a STUN message into a caller-provided buffer (RFC 8489 §5, §14). No allocation.
// Failures (buffer too small, value too long, attribute after FINGERPRINT) are sticky: every
// later call returns false and finish() returns nullopt.
//
//   uint8_t buf[512];
//   StunBuilder b(buf, MessageClass::kSuccessResponse, method::kBinding, req.transactionId());
//   b.addXorAddress(attr::kXorMappedAddress, from);
//   b.addMessageIntegrity(keyBytes(password));
//   b.addFingerprint();
//   auto wire = b.finish();  // span over buf

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/stun/stun_address.h"
#include "net/stun/stun_constants.h"
#include "net/stun/stun_message.h"

namespace medrelay::net::stun {

class StunBuilder {
 public:
  StunBuilder(std::span<uint8_t> buffer, MessageClass cls, uint16_t method,
              const StunMessage::TransactionId& tid);

  // Generic TLV; the value is padded to 4 bytes with padByte (RFC 8489 §14 says the padding
  // content is ignored; RFC 5769 §2.1 pads with spaces).
  bool addAttribute(uint16_t type, std::span<const uint8_t> value, uint8_t padByte = 0);
  bool addString(uint16_t type, std::string_view s, uint8_t padByte = 0);
  bool addEmpty(uint16_t type) { return addAttribute(type, {}); }  // USE-CANDIDATE, DONT-FRAGMENT
  bool addU32(uint16_t type, uint32_t v);
  bool addU64(uint16_t type, uint64_t v);                // ICE-CONTROLL(ED|ING), RESERVATION-TOKEN
  bool addAddress(uint16_t type, const StunAddress& a);  // MAPPED-ADDRESS form (§14.1)
  bool addXorAddress(uint16_t type, const StunAddress& a);      // XOR form (§14.2)
  bool addErrorCode(uint16_t code, std::string_view reason);    // §14.8
  bool addUnknownAttributes(std::span<const uint16_t> types);   // §14.13
  bool addChannelNumber(uint16_t channel);                      // RFC 8656 §18.1
  bool addRequestedTransport(uint8_t protocol);                 // RFC 8656 §18.7
  bool addAddressFamily(uint16_t type, StunAddress::Family f);  // RFC 8656 §18.8/§18.11
  bool addEvenPort(bool reserveNext);                           // RFC 8656 §18.6

  // Integrity and fingerprint come last, in this order (§14.5-§14.7); each sets the header
  // length to cover itself before computing its value.
  bool addMessageIntegrity(std::span<const uint8_t> key);
  bool addMessageIntegritySha256(std::span<const uint8_t> key, size_t length = 32);
  bool addFingerprint();

  bool ok() const { return ok_; }
  size_t size() const { return size_; }
  // The finished message (header length set), or nullopt after any failure.
  std::optional<std::span<const uint8_t>> finish();

 private:
  uint8_t* reserve(uint16_t type, size_t len);
  void setLength(size_t totalSize);

  std::span<uint8_t> buf_;
  size_t size_ = 0;
  bool ok_ = true;
  bool sealed_ = false;  // FINGERPRINT written
};

}  // namespace medrelay::net::stun

// STUN parser fuzz target: parse, every accessor, integrity/fingerprint checks, ChannelData and
// a rebuild of the parsed attributes through StunBuilder (which must then parse again).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "net/stun/channel_data.h"
#include "net/stun/sasl_prep.h"
#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/stun/stun_message.h"

using namespace medrelay::net::stun;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  (void)classifyPacket(in);
  (void)isStun(in);
  (void)stunMessageSize(in);
  (void)parseChannelData(in, Framing::kDatagram);
  (void)parseChannelData(in, Framing::kStream);
  (void)channelDataFrameSize(in);
  char prepared[256];
  (void)saslPrep(std::string_view(reinterpret_cast<const char*>(data), size < 200 ? size : 200),
                 prepared);

  const auto m = StunMessage::parse(in);
  if (!m) return 0;
  (void)m->method();
  (void)m->messageClass();
  (void)m->transactionId();
  uint16_t unknown[8];
  (void)m->unknownComprehensionRequired(unknown);
  (void)m->mappedAddress();
  (void)m->xorMappedAddress();
  (void)m->xorPeerAddress();
  (void)m->xorRelayedAddress();
  StunAddress peers[4];
  (void)m->xorPeerAddresses(peers);
  (void)m->username();
  (void)m->realm();
  (void)m->nonce();
  (void)m->software();
  (void)m->errorCode();
  (void)m->unknownAttributes(unknown);
  (void)m->messageIntegrity();
  (void)m->messageIntegritySha256();
  (void)m->fingerprint();
  (void)m->userhash();
  (void)m->passwordAlgorithm();
  (void)m->passwordAlgorithms();
  (void)m->priority();
  (void)m->useCandidate();
  (void)m->iceControlled();
  (void)m->iceControlling();
  (void)m->channelNumber();
  (void)m->lifetime();
  (void)m->data();
  (void)m->requestedTransport();
  (void)m->requestedAddressFamily();
  (void)m->additionalAddressFamily();
  (void)m->evenPort();
  (void)m->dontFragment();
  (void)m->reservationToken();
  (void)m->connectionId();
  (void)checkMessageIntegrity(*m, keyBytes("VOkJxbRl1RmTxUk/WvJxBt"));
  (void)checkMessageIntegritySha256(*m, keyBytes("VOkJxbRl1RmTxUk/WvJxBt"));
  (void)checkFingerprint(*m);

  // Rebuild: copy every processed attribute except the integrity ones, then re-seal.
  static uint8_t out[65536 + 256];
  StunBuilder b(out, m->messageClass(), m->method(), m->transactionId());
  for (const Attribute a : *m) {
    if (a.type == attr::kMessageIntegrity || a.type == attr::kMessageIntegritySha256 ||
        a.type == attr::kFingerprint) {
      continue;
    }
    b.addAttribute(a.type, a.value);
  }
  b.addMessageIntegrity(keyBytes("k"));
  b.addMessageIntegritySha256(keyBytes("k"));
  b.addFingerprint();
  if (const auto wire = b.finish()) {
    const auto again = StunMessage::parse(*wire);
    // Attribute-count limit may reject after adding 3 attributes; otherwise it must verify.
    if (again) {
      if (checkMessageIntegrity(*again, keyBytes("k")) != IntegrityResult::kOk ||
          checkMessageIntegritySha256(*again, keyBytes("k")) != IntegrityResult::kOk ||
          checkFingerprint(*again) != IntegrityResult::kOk) {
        std::abort();
      }
    } else if (m->attributeCount() + 3 <= kMaxAttributes) {
      std::abort();
    }
  }
  return 0;
}

#include "media/dcep.h"

#include <cstring>

#include "common/be_bytes.h"

namespace medrelay::media::dcep {
namespace {

constexpr size_t kHeader = 12;  // RFC 8832 §5.1
constexpr uint8_t kUnorderedBit = 0x80;

std::optional<Reliability> reliabilityOf(uint8_t low) {
  switch (low) {
    case 0x00:
      return Reliability::kReliable;
    case 0x01:
      return Reliability::kMaxRetransmits;
    case 0x02:
      return Reliability::kMaxLifetime;
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<Open> parseOpen(const uint8_t* data, size_t len) {
  if (data == nullptr || len < kHeader || data[0] != kMessageOpen) return std::nullopt;
  const auto reliability = reliabilityOf(data[1] & ~kUnorderedBit);
  if (!reliability) return std::nullopt;
  const size_t labelLen = loadBe16(data + 8);
  const size_t protocolLen = loadBe16(data + 10);
  // The message is exactly header + label + protocol (RFC 8832 §5.1: no padding).
  if (kHeader + labelLen + protocolLen != len) return std::nullopt;
  Open o;
  o.type.reliability = *reliability;
  o.type.unordered = (data[1] & kUnorderedBit) != 0;
  // §5.1: the reliability parameter is ignored for reliable channels.
  o.type.parameter = *reliability == Reliability::kReliable ? 0 : loadBe32(data + 4);
  o.priority = loadBe16(data + 2);
  o.label = std::string_view(reinterpret_cast<const char*>(data + kHeader), labelLen);
  o.protocol =
      std::string_view(reinterpret_cast<const char*>(data + kHeader + labelLen), protocolLen);
  return o;
}

bool isAck(const uint8_t* data, size_t len) {
  return data != nullptr && len == 1 && data[0] == kMessageAck;
}

size_t writeOpen(uint8_t* out, size_t cap, const Open& open) {
  const size_t len = kHeader + open.label.size() + open.protocol.size();
  if (open.label.size() > 0xffff || open.protocol.size() > 0xffff || len > cap) return 0;
  out[0] = kMessageOpen;
  out[1] = static_cast<uint8_t>(static_cast<uint8_t>(open.type.reliability) |
                                (open.type.unordered ? kUnorderedBit : 0));
  storeBe16(out + 2, open.priority);
  storeBe32(out + 4, open.type.reliability == Reliability::kReliable ? 0 : open.type.parameter);
  storeBe16(out + 8, static_cast<uint16_t>(open.label.size()));
  storeBe16(out + 10, static_cast<uint16_t>(open.protocol.size()));
  if (!open.label.empty()) std::memcpy(out + kHeader, open.label.data(), open.label.size());
  if (!open.protocol.empty()) {
    std::memcpy(out + kHeader + open.label.size(), open.protocol.data(), open.protocol.size());
  }
  return len;
}

}  // namespace medrelay::media::dcep

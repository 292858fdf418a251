// SCTP glue fuzz target: garbage SCTP packets (RFC 9260 common header + chunks) into a fresh
// SctpAssociation, i.e. usrsctp_conninput and our receive/notification/DCEP handling. The input
// is a sequence of packets, each a 2-byte length and its bytes; the CRC32c of each is fixed up so
// that usrsctp looks past the checksum (RFC 9260 §6.8).
#include <usrsctp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "media/sctp_association.h"

using namespace medrelay;

namespace {

struct Sink final : media::SctpAssociation::Callbacks {
  size_t sent = 0;
  void onSctpSend(const uint8_t*, size_t) override { ++sent; }
  void onSctpConnected() override {}
  void onSctpClosed() override {}
  void onDataChannelOpen(const media::DataChannel&) override {}
  void onDataChannelMessage(const media::DataChannel&, bool, const uint8_t*, size_t) override {}
  void onDataChannelClosed(const media::DataChannel&) override {}
  void onDataChannelRefused(media::SctpAssociation::Refusal) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static net::Dispatcher dispatcher("sctp-fuzz");
  Sink sink;
  media::SctpAssociation::Options o;
  o.maxMessageSize = 2048;
  auto sctp = media::SctpAssociation::create(dispatcher, sink, o);
  if (!sctp) return 0;
  std::vector<uint8_t> packet;
  size_t off = 0;
  while (off + 2 <= size) {
    const size_t len = (static_cast<size_t>(data[off]) << 8) | data[off + 1];
    off += 2;
    if (len > size - off) break;
    packet.assign(data + off, data + off + len);
    off += len;
    if (packet.size() >= 12) {
      // Ports as our association expects them (5000 both ways), then the checksum.
      packet[0] = 0x13;
      packet[1] = 0x88;
      packet[2] = 0x13;
      packet[3] = 0x88;
      std::memset(packet.data() + 8, 0, 4);
      const uint32_t crc = usrsctp_crc32c(packet.data(), packet.size());
      std::memcpy(packet.data() + 8, &crc, 4);
    }
    sctp->receive(packet.data(), packet.size());
    if (sctp->connected()) {
      static const uint8_t hello[] = "hello";
      (void)sctp->send(1000, false, hello, sizeof(hello));
    }
  }
  return 0;
}

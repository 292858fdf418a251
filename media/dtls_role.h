#pragma once

#include <cstdint>

namespace medrelay::media {

// Our side of the DTLS handshake. The SDP answer decides it through a=setup (RFC 8842 §5: we
// answer passive, so kServer, to an actpass or active offer and active, so kClient, to a passive
// one), DtlsTransport::start() takes it, and the DTLS-SRTP key split follows it (RFC 5764 §4.2:
// the client sends with the client key).
enum class DtlsRole : uint8_t { kClient, kServer };

}  // namespace medrelay::media

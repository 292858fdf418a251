#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/c_ptr.h"
#include "common/result.h"
#include "media/dtls_certificate.h"
#include "media/srtp_session.h"

namespace medrelay::media {

// Why a DTLS association failed; each value is a counter label (dtlsFailureName).
enum class DtlsFailure : uint8_t {
  kTimeout,              // no completed handshake within Options::handshakeTimeout
  kFingerprintMismatch,  // peer certificate does not hash to the SDP a=fingerprint
  kNoSrtpProfile,        // peer offered none of our SRTP profiles (RFC 5764 §4.1.1)
  kAlertReceived,        // peer sent a fatal alert
  kProtocolError,        // anything else OpenSSL rejected (bad messages, retransmit limit)
  kKeyExport,            // SSL_export_keying_material failed
};
inline constexpr size_t kDtlsFailureCount = 6;
// "timeout", "fingerprint_mismatch", "no_srtp_profile", "alert_received", "protocol_error",
// "key_export".
std::string_view dtlsFailureName(DtlsFailure failure);

// Why a datagram handed to DtlsTransport::receive was dropped without reaching OpenSSL.
enum class DtlsDrop : uint8_t {
  kNotStarted,  // before start()
  kFinished,    // after failure or close
  kNotDtls,     // first byte outside 20..63 (RFC 7983 §7) or empty
  kOversized,   // larger than DtlsTransport::kMaxDatagram
};
inline constexpr size_t kDtlsDropCount = 4;
// "not_started", "finished", "not_dtls", "oversized".
std::string_view dtlsDropName(DtlsDrop drop);

// Counters of every transport on one context (one worker, one thread: plain integers).
struct DtlsCounters {
  uint64_t handshakesStarted = 0;
  uint64_t handshakesOk = 0;
  std::array<uint64_t, kDtlsFailureCount> handshakesFailed{};  // by DtlsFailure
  uint64_t failedAfterConnect = 0;                             // fatal alert/error once connected
  std::array<uint64_t, kDtlsDropCount> datagramsDropped{};     // by DtlsDrop
  uint64_t retransmissions = 0;  // flights resent by the retransmission timer
  uint64_t closedByPeer = 0;     // close_notify received
};

// The SSL_CTX that every DtlsTransport of one worker shares: our certificate, DTLS 1.2 only, the
// use_srtp profile list, and a verify callback that defers authentication to the SDP fingerprint.
class DtlsContext {
 public:
  struct Options {
    // use_srtp list in our preference order (RFC 5764 §4.1.1). As DTLS server OpenSSL picks the
    // first of ours that the client offered, whatever the client's order.
    std::vector<SrtpProfile> srtpProfiles = {SrtpProfile::kAeadAes128Gcm,
                                             SrtpProfile::kAeadAes256Gcm,
                                             SrtpProfile::kAesCm128HmacSha1_80};
    // Largest datagram we send (DTLS payload, no IP/UDP headers). 1200 leaves room for TURN
    // framing inside a 1280-byte IPv6 minimum MTU. OpenSSL refuses less than 256.
    uint16_t mtu = 1200;
    std::chrono::milliseconds handshakeTimeout{30000};
    // RFC 6347 §4.2.4.1 retransmission timer: first value, doubled per timeout up to the cap.
    std::chrono::milliseconds initialRetransmit{400};
    std::chrono::milliseconds maxRetransmit{6400};
  };

  static Result<std::unique_ptr<DtlsContext>> create(std::shared_ptr<const DtlsCertificate> cert,
                                                     Options options);
  static Result<std::unique_ptr<DtlsContext>> create(std::shared_ptr<const DtlsCertificate> cert) {
    return create(std::move(cert), Options{});
  }

  SSL_CTX* sslContext() const { return ctx_.get(); }
  const Options& options() const { return options_; }
  const DtlsCertificate& certificate() const { return *certificate_; }
  DtlsCounters& counters() { return counters_; }
  const DtlsCounters& counters() const { return counters_; }

 private:
  struct Token {};

 public:
  DtlsContext(Token /*token*/, std::shared_ptr<const DtlsCertificate> cert, Options options);

 private:
  std::shared_ptr<const DtlsCertificate> certificate_;
  Options options_;
  CPtr<SSL_CTX, SSL_CTX_free> ctx_;
  DtlsCounters counters_;
};

}  // namespace medrelay::media

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "common/result.h"
#include "media/dtls_role.h"

struct srtp_ctx_t_;  // libsrtp's session; srtp.h stays out of this header

namespace medrelay::media {

// SRTP protection profiles negotiated by DTLS-SRTP (RFC 5764 §4.1.2, RFC 7714 §14.2).
enum class SrtpProfile : uint8_t {
  kAesCm128HmacSha1_80,
  kAesCm128HmacSha1_32,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};

struct SrtpProfileParams {
  uint16_t dtlsId;        // RFC 5764 §4.1.2 / RFC 7714 §14.2 profile id in use_srtp
  uint8_t keyLength;      // master key bytes
  uint8_t saltLength;     // master salt bytes (RFC 7714 §12: 12 for GCM)
  uint8_t rtpTrailer;     // bytes protectRtp appends (auth tag)
  uint8_t rtcpTrailer;    // bytes protectRtcp appends (E flag + SRTCP index + tag)
  std::string_view name;  // IANA name, as OpenSSL's SSL_CTX_set_tlsext_use_srtp spells it
};

const SrtpProfileParams& srtpProfileParams(SrtpProfile profile);
std::optional<SrtpProfile> srtpProfileFromDtlsId(uint16_t dtlsId);

// Largest master key + salt (AEAD_AES_256_GCM: 32 + 12; AES-CM: 16 + 14).
inline constexpr size_t kSrtpMaxMasterKeyLength = 46;

// One direction's master key followed by its master salt, as libsrtp takes them. The bytes are
// wiped when the object goes away.
class SrtpMasterKey {
 public:
  SrtpMasterKey() = default;
  // Key and salt must fit kSrtpMaxMasterKeyLength together (asserted).
  SrtpMasterKey(std::span<const uint8_t> key, std::span<const uint8_t> salt);
  SrtpMasterKey(const SrtpMasterKey& other) = default;
  SrtpMasterKey& operator=(const SrtpMasterKey& other) = default;
  ~SrtpMasterKey();

  std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }
  bool operator==(const SrtpMasterKey& other) const;

 private:
  std::array<uint8_t, kSrtpMaxMasterKeyLength> bytes_{};
  size_t size_ = 0;
};

// `local` protects what we send, `remote` unprotects what we receive.
struct SrtpKeys {
  SrtpMasterKey local;
  SrtpMasterKey remote;
};

// Bytes to export with label "EXTRACTOR-dtls_srtp" (RFC 5764 §4.2): 2 * (key + salt).
size_t dtlsSrtpKeyingMaterialLength(SrtpProfile profile);

// Splits RFC 5764 §4.2 keying material, client_key | server_key | client_salt | server_salt, into
// our and the peer's master keys. The DTLS client sends with the client key. Nothing if the
// length does not match the profile.
std::optional<SrtpKeys> splitDtlsSrtpKeyingMaterial(SrtpProfile profile,
                                                    std::span<const uint8_t> material,
                                                    DtlsRole localRole);

// Why a packet was dropped; each value is a drop-counter label (srtpErrorName).
enum class SrtpError : uint8_t { kNone, kAuthFail, kReplayFail, kOther };
std::string_view srtpErrorName(SrtpError error);  // "none", "auth_fail", "replay_fail", "other"

// Process-wide libsrtp initialisation; runs once, thread-safe, cheap to call again.
Result<void> srtpInit();
// The crypto backend libsrtp was built on, probed at run time: "openssl", "nss", "mbedtls" or
// "builtin". Calls srtpInit().
std::string_view srtpBackend();
// libsrtp's own version string, e.g. "libsrtp2 2.5.0".
std::string_view srtpVersion();
// Text for an srtp_err_status_t value.
std::string_view srtpStatusText(int status);

// Owns one libsrtp session for one direction of one DTLS-SRTP association. Any SSRC is accepted
// (ssrc_any_inbound / ssrc_any_outbound); per-SSRC state is created on first use from the
// template. Packet methods work in place, allocate nothing per packet after an SSRC's first one
// and never throw. A session is used by one thread at a time.
class SrtpSession {
 public:
  // An inbound session unprotects what we receive (remote key), an outbound one protects what we
  // send (local key).
  enum class Kind : uint8_t { kInbound, kOutbound };

  // RFC 3711 §3.3.2 replay list; 1024 packets covers a video keyframe burst reordered on the way.
  static constexpr unsigned kReplayWindow = 1024;

  static Result<SrtpSession> create(Kind kind, SrtpProfile profile, const SrtpMasterKey& masterKey);

  SrtpSession(SrtpSession&& other) noexcept = default;
  SrtpSession& operator=(SrtpSession&& other) noexcept = default;
  ~SrtpSession() = default;

  Kind kind() const { return kind_; }
  SrtpProfile profile() const { return profile_; }

  // Outbound. `len` grows by the profile's trailer, which must fit in `capacity`.
  bool protectRtp(uint8_t* buf, size_t& len, size_t capacity, SrtpError* error = nullptr);
  bool protectRtcp(uint8_t* buf, size_t& len, size_t capacity, SrtpError* error = nullptr);
  // Inbound. `len` shrinks to the plaintext; the buffer is unspecified on failure.
  bool unprotectRtp(uint8_t* buf, size_t& len, SrtpError* error = nullptr);
  bool unprotectRtcp(uint8_t* buf, size_t& len, SrtpError* error = nullptr);

 private:
  struct Dealloc {
    void operator()(srtp_ctx_t_* ctx) const;
  };

  SrtpSession(std::unique_ptr<srtp_ctx_t_, Dealloc> ctx, Kind kind, SrtpProfile profile);

  std::unique_ptr<srtp_ctx_t_, Dealloc> ctx_;
  Kind kind_;
  SrtpProfile profile_;
};

}  // namespace medrelay::media

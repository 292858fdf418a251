#include "media/srtp_session.h"

#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>
#include <string>

#include "common/assert.h"
#include "common/logging.h"

namespace medrelay::media {
namespace {

// RFC 5764 §4.1.2 (AES-CM) and RFC 7714 §14.2 (GCM). Trailers: RFC 3711 §3.1 (RTP tag), §3.4
// (SRTCP E flag + 31-bit index, then an 80-bit tag for both CM profiles, RFC 5764 §4.1.2);
// RFC 7714 §7.2/§9.1 (16-byte GCM tag, E flag + SRTCP index after it).
constexpr SrtpProfileParams kProfiles[] = {
    {0x0001, 16, 14, 10, 4 + 10, "SRTP_AES128_CM_SHA1_80"},
    {0x0002, 16, 14, 4, 4 + 10, "SRTP_AES128_CM_SHA1_32"},
    {0x0007, 16, 12, 16, 4 + 16, "SRTP_AEAD_AES_128_GCM"},
    {0x0008, 32, 12, 16, 4 + 16, "SRTP_AEAD_AES_256_GCM"},
};

std::shared_ptr<spdlog::logger> logger() {
  static const auto l = log::get("srtp");
  return l;
}

// libsrtp's own diagnostics go to the srtp logger. None is per packet at error level.
void onSrtpLog(srtp_log_level_t level, const char* msg, void* /*data*/) {
  std::string_view text(msg != nullptr ? msg : "");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (level == srtp_log_level_error || level == srtp_log_level_warning) {
    MR_LOG_WARN(logger(), "libsrtp: {}", text);
  } else {
    MR_LOG_DEBUG(logger(), "libsrtp: {}", text);
  }
}

// The one place an srtp_err_status_t becomes a control-path error.
Result<void> check(srtp_err_status_t status, std::string_view what) {
  if (status == srtp_err_status_ok) return {};
  return makeError("srtp_error", std::string(what) + ": " + std::string(srtpStatusText(status)));
}

SrtpError classify(srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_ok:
      return SrtpError::kNone;
    case srtp_err_status_auth_fail:
      return SrtpError::kAuthFail;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return SrtpError::kReplayFail;
    default:
      return SrtpError::kOther;
  }
}

bool finish(srtp_err_status_t status, int outLen, size_t& len, SrtpError* error) {
  const SrtpError e = classify(status);
  if (error != nullptr) *error = e;
  if (e != SrtpError::kNone) return false;
  len = static_cast<size_t>(outLen);
  return true;
}

bool fail(SrtpError* error) {
  if (error != nullptr) *error = SrtpError::kOther;
  return false;
}

}  // namespace

const SrtpProfileParams& srtpProfileParams(SrtpProfile profile) {
  const auto i = static_cast<size_t>(profile);
  MEDRELAY_ASSERT(i < std::size(kProfiles), "unknown SrtpProfile");
  return kProfiles[i];
}

std::optional<SrtpProfile> srtpProfileFromDtlsId(uint16_t dtlsId) {
  for (size_t i = 0; i < std::size(kProfiles); ++i) {
    if (kProfiles[i].dtlsId == dtlsId) return static_cast<SrtpProfile>(i);
  }
  return std::nullopt;
}

SrtpMasterKey::SrtpMasterKey(std::span<const uint8_t> key, std::span<const uint8_t> salt) {
  MEDRELAY_ASSERT(key.size() + salt.size() <= bytes_.size(), "SRTP master key too long");
  std::copy(key.begin(), key.end(), bytes_.begin());
  std::copy(salt.begin(), salt.end(), bytes_.begin() + static_cast<ptrdiff_t>(key.size()));
  size_ = key.size() + salt.size();
}

SrtpMasterKey::~SrtpMasterKey() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

bool SrtpMasterKey::operator==(const SrtpMasterKey& other) const {
  return size_ == other.size_ && CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), size_) == 0;
}

size_t dtlsSrtpKeyingMaterialLength(SrtpProfile profile) {
  const auto& p = srtpProfileParams(profile);
  return 2 * (size_t{p.keyLength} + p.saltLength);
}

std::optional<SrtpKeys> splitDtlsSrtpKeyingMaterial(SrtpProfile profile,
                                                    std::span<const uint8_t> material,
                                                    DtlsRole localRole) {
  if (material.size() != dtlsSrtpKeyingMaterialLength(profile)) return std::nullopt;
  const auto& p = srtpProfileParams(profile);
  // RFC 5764 §4.2: client_write_key | server_write_key | client_write_salt | server_write_salt.
  const auto clientKey = material.subspan(0, p.keyLength);
  const auto serverKey = material.subspan(p.keyLength, p.keyLength);
  const auto clientSalt = material.subspan(2 * size_t{p.keyLength}, p.saltLength);
  const auto serverSalt = material.subspan(2 * size_t{p.keyLength} + p.saltLength, p.saltLength);
  SrtpMasterKey client(clientKey, clientSalt);
  SrtpMasterKey server(serverKey, serverSalt);
  if (localRole == DtlsRole::kClient) return SrtpKeys{client, server};
  return SrtpKeys{server, client};
}

std::string_view srtpErrorName(SrtpError error) {
  switch (error) {
    case SrtpError::kNone:
      return "none";
    case SrtpError::kAuthFail:
      return "auth_fail";
    case SrtpError::kReplayFail:
      return "replay_fail";
    case SrtpError::kOther:
      return "other";
  }
  return "other";
}

Result<void> srtpInit() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] {
    status = srtp_init();
    if (status == srtp_err_status_ok) srtp_install_log_handler(onSrtpLog, nullptr);
  });
  return check(status, "srtp_init");
}

std::string_view srtpBackend() {
  // Each backend registers its AES-ICM debug module under its own name; asking for it by name is
  // the public API's only window on which one was compiled in.
  static const std::string_view backend = []() -> std::string_view {
    if (!srtpInit()) return "unknown";
    if (srtp_set_debug_module("aes icm ossl", 0) == srtp_err_status_ok) return "openssl";
    if (srtp_set_debug_module("aes icm nss", 0) == srtp_err_status_ok) return "nss";
    if (srtp_set_debug_module("aes icm mbedtls", 0) == srtp_err_status_ok) return "mbedtls";
    return "builtin";
  }();
  return backend;
}

std::string_view srtpVersion() {
  return srtp_get_version_string();
}

std::string_view srtpStatusText(int status) {
  switch (static_cast<srtp_err_status_t>(status)) {
    case srtp_err_status_ok:
      return "ok";
    case srtp_err_status_fail:
      return "unspecified failure";
    case srtp_err_status_bad_param:
      return "bad parameter";
    case srtp_err_status_alloc_fail:
      return "allocation failed";
    case srtp_err_status_dealloc_fail:
      return "deallocation failed";
    case srtp_err_status_init_fail:
      return "initialisation failed";
    case srtp_err_status_terminus:
      return "data limit reached";
    case srtp_err_status_auth_fail:
      return "authentication failed";
    case srtp_err_status_cipher_fail:
      return "cipher failed";
    case srtp_err_status_replay_fail:
      return "replayed packet";
    case srtp_err_status_replay_old:
      return "packet older than the replay window";
    case srtp_err_status_algo_fail:
      return "algorithm self-test failed";
    case srtp_err_status_no_such_op:
      return "unsupported operation";
    case srtp_err_status_no_ctx:
      return "no context for this SSRC";
    case srtp_err_status_cant_check:
      return "cannot check";
    case srtp_err_status_key_expired:
      return "key usage limit reached";
    case srtp_err_status_socket_err:
      return "socket error";
    case srtp_err_status_signal_err:
      return "signal error";
    case srtp_err_status_nonce_bad:
      return "bad nonce";
    case srtp_err_status_read_fail:
      return "read failed";
    case srtp_err_status_write_fail:
      return "write failed";
    case srtp_err_status_parse_err:
      return "parse error";
    case srtp_err_status_encode_err:
      return "encode error";
    case srtp_err_status_semaphore_err:
      return "semaphore error";
    case srtp_err_status_pfkey_err:
      return "pfkey error";
    case srtp_err_status_bad_mki:
      return "bad MKI";
    case srtp_err_status_pkt_idx_old:
      return "packet index too old";
    case srtp_err_status_pkt_idx_adv:
      return "packet index advanced too far";
  }
  return "unknown libsrtp status";
}

void SrtpSession::Dealloc::operator()(srtp_ctx_t_* ctx) const {
  if (auto r = check(srtp_dealloc(ctx), "srtp_dealloc"); !r) {
    MR_LOG_ERROR(logger(), "{}", r.error().message);
  }
}

SrtpSession::SrtpSession(std::unique_ptr<srtp_ctx_t_, Dealloc> ctx, Kind kind, SrtpProfile profile)
    : ctx_(std::move(ctx)), kind_(kind), profile_(profile) {}

Result<SrtpSession> SrtpSession::create(Kind kind, SrtpProfile profile,
                                        const SrtpMasterKey& masterKey) {
  if (auto r = srtpInit(); !r) return r.error();
  const auto& p = srtpProfileParams(profile);
  if (masterKey.bytes().size() != size_t{p.keyLength} + p.saltLength) {
    return makeError("srtp_bad_key", "master key+salt is " +
                                         std::to_string(masterKey.bytes().size()) + " bytes, " +
                                         std::string(p.name) + " needs " +
                                         std::to_string(p.keyLength + p.saltLength));
  }

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof policy);
  switch (profile) {
    case SrtpProfile::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAesCm128HmacSha1_32:
      // RFC 5764 §4.1.2: SRTCP keeps the 80-bit tag.
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case SrtpProfile::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
  policy.ssrc.type = kind == Kind::kInbound ? ssrc_any_inbound : ssrc_any_outbound;
  // libsrtp copies the key during srtp_create and never writes through this pointer.
  policy.key = const_cast<uint8_t*>(masterKey.bytes().data());
  policy.window_size = kReplayWindow;
  // A NACK answered without RTX re-sends the same packet with the same index; re-protecting
  // identical plaintext yields identical ciphertext, so no keystream is reused on new data.
  policy.allow_repeat_tx = kind == Kind::kOutbound ? 1 : 0;
  policy.next = nullptr;

  srtp_t raw = nullptr;
  if (auto r = check(srtp_create(&raw, &policy), "srtp_create"); !r) return r.error();
  return SrtpSession(std::unique_ptr<srtp_ctx_t_, Dealloc>(raw), kind, profile);
}

bool SrtpSession::protectRtp(uint8_t* buf, size_t& len, size_t capacity, SrtpError* error) {
  MEDRELAY_ASSERT(ctx_ && kind_ == Kind::kOutbound, "protectRtp on a non-outbound session");
  if (len > INT_MAX / 2 || capacity < len + srtpProfileParams(profile_).rtpTrailer) {
    return fail(error);
  }
  int n = static_cast<int>(len);
  const srtp_err_status_t status = srtp_protect(ctx_.get(), buf, &n);
  return finish(status, n, len, error);
}

bool SrtpSession::protectRtcp(uint8_t* buf, size_t& len, size_t capacity, SrtpError* error) {
  MEDRELAY_ASSERT(ctx_ && kind_ == Kind::kOutbound, "protectRtcp on a non-outbound session");
  if (len > INT_MAX / 2 || capacity < len + srtpProfileParams(profile_).rtcpTrailer) {
    return fail(error);
  }
  int n = static_cast<int>(len);
  const srtp_err_status_t status = srtp_protect_rtcp(ctx_.get(), buf, &n);
  return finish(status, n, len, error);
}

bool SrtpSession::unprotectRtp(uint8_t* buf, size_t& len, SrtpError* error) {
  MEDRELAY_ASSERT(ctx_ && kind_ == Kind::kInbound, "unprotectRtp on a non-inbound session");
  if (len > INT_MAX) return fail(error);
  int n = static_cast<int>(len);
  const srtp_err_status_t status = srtp_unprotect(ctx_.get(), buf, &n);
  return finish(status, n, len, error);
}

bool SrtpSession::unprotectRtcp(uint8_t* buf, size_t& len, SrtpError* error) {
  MEDRELAY_ASSERT(ctx_ && kind_ == Kind::kInbound, "unprotectRtcp on a non-inbound session");
  if (len > INT_MAX) return fail(error);
  int n = static_cast<int>(len);
  const srtp_err_status_t status = srtp_unprotect_rtcp(ctx_.get(), buf, &n);
  return finish(status, n, len, error);
}

}  // namespace medrelay::media

#include "media/dtls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

namespace medrelay::media {
namespace {

constexpr std::string_view kFailureNames[] = {
    "timeout",        "fingerprint_mismatch", "no_srtp_profile",
    "alert_received", "protocol_error",       "key_export",
};
static_assert(std::size(kFailureNames) == kDtlsFailureCount);

constexpr std::string_view kDropNames[] = {"not_started", "finished", "not_dtls", "oversized"};
static_assert(std::size(kDropNames) == kDtlsDropCount);

// ECDHE only (forward secrecy). ECDSA suites first (our certificate and every browser's); RSA
// suites stay for peers with RSA certificates (GStreamer's webrtcbin generates RSA) when we are
// the DTLS client.
constexpr const char* kCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA";

}  // namespace

std::string_view dtlsFailureName(DtlsFailure failure) {
  return kFailureNames[static_cast<size_t>(failure)];
}

std::string_view dtlsDropName(DtlsDrop drop) {
  return kDropNames[static_cast<size_t>(drop)];
}

DtlsContext::DtlsContext(Token /*token*/, std::shared_ptr<const DtlsCertificate> cert,
                         Options options)
    : certificate_(std::move(cert)), options_(std::move(options)) {}

Result<std::unique_ptr<DtlsContext>> DtlsContext::create(
    std::shared_ptr<const DtlsCertificate> cert, Options options) {
  if (!cert) return makeError("dtls_context", "no certificate");
  if (options.srtpProfiles.empty()) return makeError("dtls_context", "no SRTP profile");
  if (options.mtu < 256) return makeError("dtls_context", "MTU below OpenSSL's minimum of 256");
  if (options.initialRetransmit.count() <= 0 || options.maxRetransmit < options.initialRetransmit) {
    return makeError("dtls_context", "bad retransmission timer settings");
  }

  ERR_clear_error();
  auto context = std::make_unique<DtlsContext>(Token{}, std::move(cert), std::move(options));
  context->ctx_.reset(SSL_CTX_new(DTLS_method()));
  SSL_CTX* ctx = context->ctx_.get();
  if (ctx == nullptr) return makeError("dtls_context", openSslErrors("SSL_CTX_new"));

  std::string profiles;
  for (const SrtpProfile p : context->options_.srtpProfiles) {
    if (!profiles.empty()) profiles += ':';
    profiles += srtpProfileParams(p).name;
  }

  // DTLS 1.2 only: OpenSSL 3.0 has no DTLS 1.3, and 1.0 (RFC 4347) is obsolete for WebRTC
  // (RFC 8827 §6.5 requires 1.2 or later).
  auto ok = checkOpenSsl(
      SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
          SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) == 1 &&
          SSL_CTX_use_certificate(ctx, context->certificate_->certificate()) == 1 &&
          SSL_CTX_use_PrivateKey(ctx, context->certificate_->privateKey()) == 1 &&
          SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set_cipher_list(ctx, kCipherList) == 1 &&
          SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") == 1 &&
          // Returns 0 on success, unlike the rest of the API.
          SSL_CTX_set_tlsext_use_srtp(ctx, profiles.c_str()) == 0,
      "dtls_context", "configuring SSL_CTX");
  if (!ok) return ok.error();

  // Server preference for cipher suites. For use_srtp OpenSSL 3.0 already chooses by our list
  // (tls_parse_ctos_use_srtp keeps the client profile that is earliest in ours); the
  // DtlsTransport tests pin that down.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_QUERY_MTU |
                               SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx, 1);
  // Peer certificates are self-signed: the transport's verify callback accepts any chain and
  // pins the leaf to the SDP fingerprint instead (RFC 5763 §5, RFC 8122 §5). Both roles demand
  // a certificate (RFC 5763 §5: the server MUST request one).
  SSL_CTX_set_verify_depth(ctx, 4);
  return context;
}

}  // namespace medrelay::media

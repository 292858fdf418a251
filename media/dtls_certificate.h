#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/c_ptr.h"
#include "common/result.h"

namespace medrelay::media {

// Drains OpenSSL's thread-local error queue into one line ("what: reason; reason"), or `what`
// alone when the queue is empty. The one place OpenSSL errors become text, so every caller
// leaves the queue empty for the next SSL_get_error().
std::string openSslErrors(std::string_view what);
// Ok when `ok`, else an Error{code, openSslErrors(what)}. Control path only.
Result<void> checkOpenSsl(bool ok, std::string_view code, std::string_view what);

// Hash functions an SDP a=fingerprint line may name (RFC 8122 §5, "hash-func" tokens).
enum class FingerprintAlgorithm : uint8_t { kSha1, kSha224, kSha256, kSha384, kSha512 };

// "sha-1", "sha-224", "sha-256", "sha-384", "sha-512".
std::string_view fingerprintAlgorithmName(FingerprintAlgorithm algorithm);
// Case-insensitive (RFC 8122 §5: hash-func is a token compared without case).
std::optional<FingerprintAlgorithm> fingerprintAlgorithmFromName(std::string_view name);

// A certificate fingerprint: algorithm and raw digest bytes.
struct Fingerprint {
  static constexpr size_t kMaxDigest = 64;  // SHA-512

  FingerprintAlgorithm algorithm = FingerprintAlgorithm::kSha256;
  std::array<uint8_t, kMaxDigest> digest{};
  size_t size = 0;

  // Parses the value of an a=fingerprint attribute, "sha-256 AB:CD:..." (RFC 8122 §5). Hex is
  // accepted in either case; the digest length must match the algorithm.
  static std::optional<Fingerprint> parse(std::string_view sdpValue);

  // "AB:CD:..." (upper-case hex pairs joined by colons, RFC 8122 §5).
  std::string hex() const;
  // "sha-256 AB:CD:...", ready for a=fingerprint.
  std::string sdp() const;
  // Constant-time over the digest bytes.
  bool operator==(const Fingerprint& other) const;
};

// Fingerprint of a DER-encoded certificate as X509_digest computes it (RFC 8122 §5: a hash of
// the DER form). Nothing if OpenSSL fails.
std::optional<Fingerprint> certificateFingerprint(const X509* certificate,
                                                  FingerprintAlgorithm algorithm);

// The self-signed ECDSA P-256 certificate and key a process (or worker) presents in DTLS-SRTP
// handshakes. WebRTC peers authenticate it by the fingerprint in the SDP (RFC 8842 §5), never
// by a chain, so it is generated at start and lives only as long as the process.
class DtlsCertificate {
 public:
  struct Options {
    std::chrono::hours validity{24 * 30};
    // Not-before lies this far in the past so that a peer whose clock is slightly behind ours
    // still accepts the certificate.
    std::chrono::hours backdate{24};
  };

  static Result<std::shared_ptr<const DtlsCertificate>> generate(const Options& options);
  static Result<std::shared_ptr<const DtlsCertificate>> generate() { return generate(Options{}); }

  X509* certificate() const { return certificate_.get(); }
  EVP_PKEY* privateKey() const { return key_.get(); }
  const Fingerprint& fingerprint() const { return fingerprint_; }  // SHA-256
  // "sha-256 AB:CD:...", the a=fingerprint value of our answers.
  std::string sdpFingerprint() const { return fingerprint_.sdp(); }
  const std::string& commonName() const { return commonName_; }

  // PEM text of the certificate and of the PKCS#8 private key (tests hand them to other stacks).
  std::string certificatePem() const;
  std::string privateKeyPem() const;

  DtlsCertificate(const DtlsCertificate&) = delete;
  DtlsCertificate& operator=(const DtlsCertificate&) = delete;

 private:
  struct Token {};  // only generate() constructs one

 public:
  explicit DtlsCertificate(Token /*token*/) {}

 private:
  CPtr<X509, X509_free> certificate_;
  CPtr<EVP_PKEY, EVP_PKEY_free> key_;
  Fingerprint fingerprint_;
  std::string commonName_;
};

}  // namespace medrelay::media

#include "media/dtls_certificate.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cctype>

#include "common/strings.h"

namespace medrelay::media {
namespace {

struct AlgorithmInfo {
  std::string_view name;
  size_t digestSize;
};

constexpr AlgorithmInfo kAlgorithms[] = {
    {"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64},
};

const EVP_MD* digestFor(FingerprintAlgorithm algorithm) {
  switch (algorithm) {
    case FingerprintAlgorithm::kSha1:
      return EVP_sha1();
    case FingerprintAlgorithm::kSha224:
      return EVP_sha224();
    case FingerprintAlgorithm::kSha256:
      return EVP_sha256();
    case FingerprintAlgorithm::kSha384:
      return EVP_sha384();
    case FingerprintAlgorithm::kSha512:
      return EVP_sha512();
  }
  return nullptr;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string randomHex(size_t bytes) {
  std::array<uint8_t, 32> buf{};
  if (bytes > buf.size()) bytes = buf.size();
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) return {};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out += kDigits[buf[i] >> 4];
    out += kDigits[buf[i] & 0xf];
  }
  return out;
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

}  // namespace

std::string openSslErrors(std::string_view what) {
  std::string out(what);
  bool first = true;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    out += first ? ": " : "; ";
    out += buf.data();
    first = false;
  }
  return out;
}

Result<void> checkOpenSsl(bool ok, std::string_view code, std::string_view what) {
  if (ok) return {};
  return makeError(std::string(code), openSslErrors(what));
}

std::string_view fingerprintAlgorithmName(FingerprintAlgorithm algorithm) {
  return kAlgorithms[static_cast<size_t>(algorithm)].name;
}

std::optional<FingerprintAlgorithm> fingerprintAlgorithmFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kAlgorithms); ++i) {
    if (iequals(name, kAlgorithms[i].name)) return static_cast<FingerprintAlgorithm>(i);
  }
  return std::nullopt;
}

std::optional<Fingerprint> Fingerprint::parse(std::string_view sdpValue) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  };
  sdpValue = trim(sdpValue);
  const size_t space = sdpValue.find_first_of(" \t");
  if (space == std::string_view::npos) return std::nullopt;
  const auto algorithm = fingerprintAlgorithmFromName(sdpValue.substr(0, space));
  if (!algorithm) return std::nullopt;
  const std::string_view hex = trim(sdpValue.substr(space + 1));

  Fingerprint fp;
  fp.algorithm = *algorithm;
  const size_t want = kAlgorithms[static_cast<size_t>(*algorithm)].digestSize;
  // want pairs and want - 1 colons (RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX)).
  if (hex.size() != want * 3 - 1) return std::nullopt;
  for (size_t i = 0; i < want; ++i) {
    const size_t at = i * 3;
    if (i > 0 && hex[at - 1] != ':') return std::nullopt;
    const int hi = hexValue(hex[at]);
    const int lo = hexValue(hex[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    fp.digest[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  fp.size = want;
  return fp;
}

std::string Fingerprint::hex() const {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(size * 3);
  for (size_t i = 0; i < size; ++i) {
    if (i > 0) out += ':';
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 0xf];
  }
  return out;
}

std::string Fingerprint::sdp() const {
  return std::string(fingerprintAlgorithmName(algorithm)) + " " + hex();
}

bool Fingerprint::operator==(const Fingerprint& other) const {
  return algorithm == other.algorithm && size == other.size &&
         CRYPTO_memcmp(digest.data(), other.digest.data(), size) == 0;
}

std::optional<Fingerprint> certificateFingerprint(const X509* certificate,
                                                  FingerprintAlgorithm algorithm) {
  if (certificate == nullptr) return std::nullopt;
  Fingerprint fp;
  fp.algorithm = algorithm;
  unsigned int len = 0;
  if (X509_digest(certificate, digestFor(algorithm), fp.digest.data(), &len) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  fp.size = len;
  return fp;
}

Result<std::shared_ptr<const DtlsCertificate>> DtlsCertificate::generate(const Options& options) {
  ERR_clear_error();
  auto cert = std::make_shared<DtlsCertificate>(Token{});

  // ECDSA P-256: what every browser uses for WebRTC and the cheapest handshake signature.
  cert->key_.reset(EVP_EC_gen("P-256"));
  if (!cert->key_) return makeError("dtls_certificate", openSslErrors("EVP_EC_gen"));

  cert->certificate_.reset(X509_new());
  X509* x = cert->certificate_.get();
  if (x == nullptr) return makeError("dtls_certificate", openSslErrors("X509_new"));

  // Random positive 63-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets).
  CPtr<BIGNUM, BN_free> serial(BN_new());
  auto ok =
      checkOpenSsl(serial && BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
                       BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) != nullptr,
                   "dtls_certificate", "serial");
  if (!ok) return ok.error();

  cert->commonName_ = "medrelay-" + randomHex(8);
  const auto validity = std::chrono::duration_cast<std::chrono::seconds>(options.validity);
  const auto backdate = std::chrono::duration_cast<std::chrono::seconds>(options.backdate);
  X509_NAME* name = X509_get_subject_name(x);
  ok = checkOpenSsl(
      X509_set_version(x, X509_VERSION_3) == 1 &&
          X509_gmtime_adj(X509_getm_notBefore(x), -static_cast<long>(backdate.count())) !=
              nullptr &&
          X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(validity.count())) != nullptr &&
          X509_NAME_add_entry_by_txt(
              name, "CN", MBSTRING_ASC,
              reinterpret_cast<const unsigned char*>(cert->commonName_.c_str()), -1, -1, 0) == 1 &&
          X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, cert->key_.get()) == 1 &&
          X509_sign(x, cert->key_.get(), EVP_sha256()) > 0,
      "dtls_certificate", "building the certificate");
  if (!ok) return ok.error();

  auto fp = certificateFingerprint(x, FingerprintAlgorithm::kSha256);
  if (!fp) return makeError("dtls_certificate", openSslErrors("X509_digest"));
  cert->fingerprint_ = *fp;
  return std::shared_ptr<const DtlsCertificate>(std::move(cert));
}

std::string DtlsCertificate::certificatePem() const {
  CPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate_.get()) != 1) return {};
  return bioText(bio.get());
}

std::string DtlsCertificate::privateKeyPem() const {
  CPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return bioText(bio.get());
}

}  // namespace medrelay::media

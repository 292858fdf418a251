#include "media/dtls_certificate.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <regex>
#include <string>
#include <vector>

namespace medrelay::media {
namespace {

// Seconds from now to an ASN1_TIME (negative: in the past).
long secondsFromNow(const ASN1_TIME* t) {
  int days = 0;
  int secs = 0;
  EXPECT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, t), 1);
  return static_cast<long>(days) * 86400 + secs;
}

// The digest computed independently: hash of the DER encoding (RFC 8122 §5).
std::vector<uint8_t> derDigest(X509* cert, const EVP_MD* md) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  EXPECT_GT(len, 0);
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int outLen = 0;
  EXPECT_EQ(EVP_Digest(der, static_cast<size_t>(len), out.data(), &outLen, md, nullptr), 1);
  OPENSSL_free(der);
  out.resize(outLen);
  return out;
}

TEST(DtlsCertificateTest, SelfSignedEcdsaP256WithShortValidity) {
  auto generated = DtlsCertificate::generate();
  ASSERT_TRUE(generated.ok()) << generated.error().message;
  const auto& cert = *generated.value();
  X509* x = cert.certificate();

  EXPECT_EQ(EVP_PKEY_get_base_id(cert.privateKey()), EVP_PKEY_EC);
  char group[64] = {};
  size_t groupLen = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(cert.privateKey(), group, sizeof(group), &groupLen), 1);
  EXPECT_STREQ(group, "prime256v1");
  // Signed by its own key, issuer == subject.
  EXPECT_EQ(X509_verify(x, cert.privateKey()), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
  EXPECT_EQ(X509_get_version(x), X509_VERSION_3);

  const long notBefore = secondsFromNow(X509_get0_notBefore(x));
  const long notAfter = secondsFromNow(X509_get0_notAfter(x));
  EXPECT_LT(notBefore, -3600);  // backdated for peers with slow clocks
  EXPECT_GE(notBefore, -86400 - 5);
  EXPECT_NEAR(static_cast<double>(notAfter), 30.0 * 86400, 10);
  EXPECT_EQ(cert.commonName().rfind("medrelay-", 0), 0u);
  EXPECT_EQ(cert.commonName().size(), 9u + 16u);
}

TEST(DtlsCertificateTest, EachCertificateIsUnique) {
  auto a = DtlsCertificate::generate();
  auto b = DtlsCertificate::generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.value()->certificate()),
                             X509_get0_serialNumber(b.value()->certificate())),
            0);
  EXPECT_NE(a.value()->commonName(), b.value()->commonName());
  EXPECT_FALSE(a.value()->fingerprint() == b.value()->fingerprint());
  // Serial is positive (RFC 5280 §4.1.2.2).
  CPtr<BIGNUM, BN_free> serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.value()->certificate()), nullptr));
  EXPECT_FALSE(BN_is_negative(serial.get()));
  EXPECT_FALSE(BN_is_zero(serial.get()));
}

TEST(DtlsCertificateTest, ValidityIsConfigurable) {
  DtlsCertificate::Options o;
  o.validity = std::chrono::hours(48);
  o.backdate = std::chrono::hours(2);
  auto c = DtlsCertificate::generate(o);
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(static_cast<double>(secondsFromNow(X509_get0_notAfter(c.value()->certificate()))),
              48.0 * 3600, 10);
  EXPECT_NEAR(static_cast<double>(secondsFromNow(X509_get0_notBefore(c.value()->certificate()))),
              -2.0 * 3600, 10);
}

TEST(DtlsCertificateTest, SdpFingerprintIsSha256OfDer) {
  auto c = DtlsCertificate::generate();
  ASSERT_TRUE(c.ok());
  const std::string sdp = c.value()->sdpFingerprint();
  EXPECT_TRUE(std::regex_match(sdp, std::regex("sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << sdp;
  const auto expected = derDigest(c.value()->certificate(), EVP_sha256());
  const auto& fp = c.value()->fingerprint();
  ASSERT_EQ(fp.size, 32u);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), fp.digest.begin()));
}

TEST(DtlsCertificateTest, PeerFingerprintForEverySdpAlgorithm) {
  auto c = DtlsCertificate::generate();
  ASSERT_TRUE(c.ok());
  struct Case {
    const char* name;
    const EVP_MD* md;
    size_t size;
  };
  for (const Case& k : {Case{"sha-1", EVP_sha1(), 20}, Case{"sha-224", EVP_sha224(), 28},
                        Case{"sha-256", EVP_sha256(), 32}, Case{"sha-384", EVP_sha384(), 48},
                        Case{"sha-512", EVP_sha512(), 64}}) {
    SCOPED_TRACE(k.name);
    const auto alg = fingerprintAlgorithmFromName(k.name);
    ASSERT_TRUE(alg);
    EXPECT_EQ(fingerprintAlgorithmName(*alg), k.name);
    const auto fp = certificateFingerprint(c.value()->certificate(), *alg);
    ASSERT_TRUE(fp);
    ASSERT_EQ(fp->size, k.size);
    const auto expected = derDigest(c.value()->certificate(), k.md);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), fp->digest.begin()));
    // What we print, we parse back to the same value.
    const auto parsed = Fingerprint::parse(fp->sdp());
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(*parsed == *fp);
    EXPECT_EQ(fp->sdp().substr(0, fp->sdp().find(' ')), k.name);
  }
  EXPECT_FALSE(certificateFingerprint(nullptr, FingerprintAlgorithm::kSha256));
}

TEST(DtlsCertificateTest, FingerprintParsing) {
  const std::string hex32 =
      "AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
      "DD:EE:FF";
  auto fp = Fingerprint::parse("SHA-256 " + hex32 + "\r");
  ASSERT_TRUE(fp);  // algorithm token and hex digits in any case
  EXPECT_EQ(fp->algorithm, FingerprintAlgorithm::kSha256);
  EXPECT_EQ(fp->digest[0], 0xab);
  EXPECT_EQ(fp->digest[31], 0xff);
  EXPECT_EQ(fp->hex().substr(0, 11), "AB:CD:EF:01");
  EXPECT_EQ(fp->hex().substr(24, 5), "AB:CD");  // upper case on output

  EXPECT_FALSE(Fingerprint::parse("sha-256"));
  EXPECT_FALSE(Fingerprint::parse("md5 " + hex32));
  EXPECT_FALSE(Fingerprint::parse("sha-1 " + hex32));            // wrong length for sha-1
  EXPECT_FALSE(Fingerprint::parse("sha-256 " + hex32 + ":00"));  // too long
  EXPECT_FALSE(Fingerprint::parse("sha-256 " + hex32.substr(0, hex32.size() - 3)));
  std::string badSep = hex32;
  badSep[2] = '-';
  EXPECT_FALSE(Fingerprint::parse("sha-256 " + badSep));
  std::string badHex = hex32;
  badHex[0] = 'G';
  EXPECT_FALSE(Fingerprint::parse("sha-256 " + badHex));

  // Equality needs algorithm, length and bytes.
  auto a = *Fingerprint::parse("sha-256 " + hex32);
  auto b = a;
  EXPECT_TRUE(a == b);
  b.digest[31] ^= 1;
  EXPECT_FALSE(a == b);
  b = a;
  b.algorithm = FingerprintAlgorithm::kSha384;
  EXPECT_FALSE(a == b);
}

TEST(DtlsCertificateTest, PemRoundTrip) {
  auto c = DtlsCertificate::generate();
  ASSERT_TRUE(c.ok());
  const std::string certPem = c.value()->certificatePem();
  const std::string keyPem = c.value()->privateKeyPem();
  ASSERT_NE(certPem.find("BEGIN CERTIFICATE"), std::string::npos);
  ASSERT_NE(keyPem.find("BEGIN PRIVATE KEY"), std::string::npos);
  CPtr<BIO, BIO_free> cb(BIO_new_mem_buf(certPem.data(), static_cast<int>(certPem.size())));
  CPtr<X509, X509_free> x(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(x);
  EXPECT_TRUE(*certificateFingerprint(x.get(), FingerprintAlgorithm::kSha256) ==
              c.value()->fingerprint());
  CPtr<BIO, BIO_free> kb(BIO_new_mem_buf(keyPem.data(), static_cast<int>(keyPem.size())));
  CPtr<EVP_PKEY, EVP_PKEY_free> k(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(k);
  EXPECT_EQ(X509_check_private_key(x.get(), k.get()), 1);
}

TEST(DtlsCertificateTest, OpenSslErrorsDrainsTheQueue) {
  ERR_clear_error();
  EXPECT_EQ(openSslErrors("nothing"), "nothing");
  // Provoke an error: parse garbage as PEM.
  CPtr<BIO, BIO_free> b(BIO_new_mem_buf("-----BEGIN CERTIFICATE-----\nAAAA\n", -1));
  EXPECT_EQ(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr), nullptr);
  const std::string text = openSslErrors("reading");
  EXPECT_EQ(text.rfind("reading: error:", 0), 0u) << text;
  EXPECT_EQ(ERR_peek_error(), 0u);  // drained
  auto r = checkOpenSsl(false, "code_x", "what");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "code_x");
  EXPECT_TRUE(checkOpenSsl(true, "code_x", "what").ok());
}

}  // namespace
}  // namespace medrelay::media

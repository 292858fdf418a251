#include "media/srtp_session.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <string>
#include <thread>
#include <vector>

namespace medrelay::media {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes fromHex(std::string_view hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// RTP header (RFC 3550 §5.1), PT 96, then `payloadSize` bytes of a counting pattern.
Bytes rtpPacket(uint32_t ssrc, uint16_t seq, size_t payloadSize) {
  Bytes p = {0x80,
             96,
             static_cast<uint8_t>(seq >> 8),
             static_cast<uint8_t>(seq),
             0,
             0,
             0x12,
             0x34,
             static_cast<uint8_t>(ssrc >> 24),
             static_cast<uint8_t>(ssrc >> 16),
             static_cast<uint8_t>(ssrc >> 8),
             static_cast<uint8_t>(ssrc)};
  for (size_t i = 0; i < payloadSize; ++i) p.push_back(static_cast<uint8_t>(i * 7 + seq));
  return p;
}

// RTCP sender report with no report blocks (RFC 3550 §6.4.1): 28 bytes.
Bytes rtcpSenderReport(uint32_t ssrc, uint8_t fill) {
  Bytes p = {0x80,
             200,
             0,
             6,
             static_cast<uint8_t>(ssrc >> 24),
             static_cast<uint8_t>(ssrc >> 16),
             static_cast<uint8_t>(ssrc >> 8),
             static_cast<uint8_t>(ssrc)};
  for (int i = 0; i < 20; ++i) p.push_back(static_cast<uint8_t>(fill + i));
  return p;
}

SrtpMasterKey patternKey(SrtpProfile profile, uint8_t seed) {
  const auto& p = srtpProfileParams(profile);
  Bytes key(p.keyLength), salt(p.saltLength);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i);
  for (size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<uint8_t>(seed * 3 + i);
  return SrtpMasterKey(key, salt);
}

SrtpSession makeSession(SrtpSession::Kind dir, SrtpProfile profile, const SrtpMasterKey& k) {
  auto s = SrtpSession::create(dir, profile, k);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return std::move(s).value();
}

// Protects `plain` into a buffer of exactly len + trailer bytes (ASan catches an overrun).
Bytes protect(SrtpSession& s, const Bytes& plain, bool rtcp) {
  const auto& params = srtpProfileParams(s.profile());
  Bytes buf = plain;
  buf.resize(plain.size() + (rtcp ? params.rtcpTrailer : params.rtpTrailer));
  size_t len = plain.size();
  SrtpError err = SrtpError::kOther;
  const bool ok = rtcp ? s.protectRtcp(buf.data(), len, buf.size(), &err)
                       : s.protectRtp(buf.data(), len, buf.size(), &err);
  EXPECT_TRUE(ok) << srtpErrorName(err);
  EXPECT_EQ(err, SrtpError::kNone);
  buf.resize(len);
  return buf;
}

// Returns the plaintext, or the error.
std::pair<Bytes, SrtpError> unprotect(SrtpSession& s, Bytes packet, bool rtcp) {
  size_t len = packet.size();
  SrtpError err = SrtpError::kNone;
  const bool ok =
      rtcp ? s.unprotectRtcp(packet.data(), len, &err) : s.unprotectRtp(packet.data(), len, &err);
  EXPECT_EQ(ok, err == SrtpError::kNone);
  if (!ok) return {Bytes{}, err};
  packet.resize(len);
  return {packet, err};
}

class SrtpProfileTest : public ::testing::TestWithParam<SrtpProfile> {
 protected:
  SrtpMasterKey key_ = patternKey(GetParam(), 1);
  SrtpSession out_ = makeSession(SrtpSession::Kind::kOutbound, GetParam(), key_);
  SrtpSession in_ = makeSession(SrtpSession::Kind::kInbound, GetParam(), key_);
};

TEST_P(SrtpProfileTest, RtpRoundTripGrowsByTagAndEncrypts) {
  const auto& params = srtpProfileParams(GetParam());
  for (uint32_t ssrc : {0x11111111u, 0x22222222u}) {
    uint16_t seq = 100;
    for (int round = 0; round < 10; ++round) {
      for (size_t size : {0u, 1u, 160u, 1188u}) {
        const Bytes plain = rtpPacket(ssrc, seq++, size);
        const Bytes wire = protect(out_, plain, false);
        ASSERT_EQ(wire.size(), plain.size() + params.rtpTrailer);
        // RFC 3711 §3.1: the header stays in clear, the payload does not.
        EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 12, wire.begin()));
        if (size >= 16) {
          EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), wire.begin() + 12));
        }
        auto [back, err] = unprotect(in_, wire, false);
        ASSERT_EQ(err, SrtpError::kNone);
        EXPECT_EQ(back, plain);
      }
    }
  }
}

TEST_P(SrtpProfileTest, RtcpRoundTripGrowsByTrailerAndEncrypts) {
  const auto& params = srtpProfileParams(GetParam());
  for (uint8_t i = 0; i < 5; ++i) {
    const Bytes plain = rtcpSenderReport(0x33333333, i);
    const Bytes wire = protect(out_, plain, true);
    ASSERT_EQ(wire.size(), plain.size() + params.rtcpTrailer);
    // The first 8 bytes stay in clear (RFC 3711 §3.4).
    EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 8, wire.begin()));
    EXPECT_FALSE(std::equal(plain.begin() + 8, plain.end(), wire.begin() + 8));
    // RFC 3711 §3.4: E|index then the tag; RFC 7714 §9.1 (AEAD): the tag then E|index.
    const bool aead = params.rtpTrailer == 16;
    EXPECT_EQ(wire[aead ? wire.size() - 4 : plain.size()] & 0x80, 0x80);
    auto [back, err] = unprotect(in_, wire, true);
    ASSERT_EQ(err, SrtpError::kNone);
    EXPECT_EQ(back, plain);
  }
}

TEST_P(SrtpProfileTest, ReplayedPacketIsReplayFail) {
  const Bytes wire = protect(out_, rtpPacket(0x44444444, 7, 200), false);
  EXPECT_EQ(unprotect(in_, wire, false).second, SrtpError::kNone);
  EXPECT_EQ(unprotect(in_, wire, false).second, SrtpError::kReplayFail);

  const Bytes rtcp = protect(out_, rtcpSenderReport(0x44444444, 9), true);
  EXPECT_EQ(unprotect(in_, rtcp, true).second, SrtpError::kNone);
  EXPECT_EQ(unprotect(in_, rtcp, true).second, SrtpError::kReplayFail);
}

TEST_P(SrtpProfileTest, FlippedByteIsAuthFail) {
  const Bytes wire = protect(out_, rtpPacket(0x55555555, 1, 200), false);
  // A payload byte, a header byte, the last tag byte.
  for (size_t at : {size_t{40}, size_t{3}, wire.size() - 1}) {
    Bytes bad = wire;
    bad[at] ^= 0x01;
    EXPECT_EQ(unprotect(in_, bad, false).second, SrtpError::kAuthFail) << "byte " << at;
  }
  // The genuine packet still passes: failed ones did not advance the replay window.
  EXPECT_EQ(unprotect(in_, wire, false).second, SrtpError::kNone);

  Bytes rtcp = protect(out_, rtcpSenderReport(0x55555555, 1), true);
  rtcp[12] ^= 0x80;
  EXPECT_EQ(unprotect(in_, rtcp, true).second, SrtpError::kAuthFail);
}

TEST_P(SrtpProfileTest, WrongKeyIsAuthFail) {
  auto other = makeSession(SrtpSession::Kind::kInbound, GetParam(), patternKey(GetParam(), 2));
  const Bytes wire = protect(out_, rtpPacket(0x66666666, 1, 300), false);
  EXPECT_EQ(unprotect(other, wire, false).second, SrtpError::kAuthFail);
  const Bytes rtcp = protect(out_, rtcpSenderReport(0x66666666, 1), true);
  EXPECT_EQ(unprotect(other, rtcp, true).second, SrtpError::kAuthFail);
}

TEST_P(SrtpProfileTest, ReorderWithinWindowPassesOlderIsReplayFail) {
  const uint32_t ssrc = 0x77777777;
  const Bytes late = protect(out_, rtpPacket(ssrc, 1000, 50), false);
  const Bytes tooOld = protect(out_, rtpPacket(ssrc, 10, 50), false);
  for (uint16_t seq = 1001; seq <= 2000; ++seq) {
    ASSERT_EQ(unprotect(in_, protect(out_, rtpPacket(ssrc, seq, 50), false), false).second,
              SrtpError::kNone);
  }
  // 1000 packets late is inside the 1024 window (libsrtp's default of 128 would drop it).
  EXPECT_EQ(unprotect(in_, late, false).second, SrtpError::kNone);
  EXPECT_EQ(unprotect(in_, tooOld, false).second, SrtpError::kReplayFail);
}

TEST_P(SrtpProfileTest, RetransmissionOfSamePacketProtectsIdentically) {
  const Bytes plain = rtpPacket(0x88888888, 5, 100);
  const Bytes first = protect(out_, plain, false);
  const Bytes again = protect(out_, plain, false);
  EXPECT_EQ(first, again);
}

TEST_P(SrtpProfileTest, TooSmallBufferOrGarbageIsOther) {
  Bytes plain = rtpPacket(0x99999999, 1, 100);
  const Bytes copy = plain;
  size_t len = plain.size();
  SrtpError err = SrtpError::kNone;
  EXPECT_FALSE(out_.protectRtp(plain.data(), len, plain.size(), &err));
  EXPECT_EQ(err, SrtpError::kOther);
  EXPECT_EQ(len, copy.size());
  EXPECT_EQ(plain, copy);

  Bytes runt = {0x80, 96, 0, 1};
  EXPECT_EQ(unprotect(in_, runt, false).second, SrtpError::kOther);
  EXPECT_EQ(unprotect(in_, runt, true).second, SrtpError::kOther);
}

INSTANTIATE_TEST_SUITE_P(AllProfiles, SrtpProfileTest,
                         ::testing::Values(SrtpProfile::kAesCm128HmacSha1_80,
                                           SrtpProfile::kAesCm128HmacSha1_32,
                                           SrtpProfile::kAeadAes128Gcm,
                                           SrtpProfile::kAeadAes256Gcm),
                         [](const auto& param) {
                           std::string n(srtpProfileParams(param.param).name);
                           return n.substr(5);  // drop "SRTP_"
                         });

TEST(SrtpProfileMapTest, DtlsIdsAndLengths) {
  EXPECT_EQ(srtpProfileFromDtlsId(0x0001), SrtpProfile::kAesCm128HmacSha1_80);
  EXPECT_EQ(srtpProfileFromDtlsId(0x0002), SrtpProfile::kAesCm128HmacSha1_32);
  EXPECT_EQ(srtpProfileFromDtlsId(0x0007), SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(srtpProfileFromDtlsId(0x0008), SrtpProfile::kAeadAes256Gcm);
  EXPECT_FALSE(srtpProfileFromDtlsId(0x0005).has_value());  // NULL cipher: never accepted
  EXPECT_FALSE(srtpProfileFromDtlsId(0x0000).has_value());
  EXPECT_EQ(dtlsSrtpKeyingMaterialLength(SrtpProfile::kAesCm128HmacSha1_80), 60u);
  EXPECT_EQ(dtlsSrtpKeyingMaterialLength(SrtpProfile::kAeadAes128Gcm), 56u);
  EXPECT_EQ(dtlsSrtpKeyingMaterialLength(SrtpProfile::kAeadAes256Gcm), 88u);
  EXPECT_EQ(srtpProfileParams(SrtpProfile::kAeadAes128Gcm).name, "SRTP_AEAD_AES_128_GCM");
}

TEST(SrtpKeyingMaterialTest, SplitGivesMatchingPairsForBothRoles) {
  for (auto profile : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAeadAes128Gcm,
                       SrtpProfile::kAeadAes256Gcm}) {
    const auto& p = srtpProfileParams(profile);
    Bytes material(dtlsSrtpKeyingMaterialLength(profile));
    for (size_t i = 0; i < material.size(); ++i) material[i] = static_cast<uint8_t>(i);

    auto client = splitDtlsSrtpKeyingMaterial(profile, material, DtlsRole::kClient);
    auto server = splitDtlsSrtpKeyingMaterial(profile, material, DtlsRole::kServer);
    ASSERT_TRUE(client && server);
    EXPECT_TRUE(client->local == server->remote);
    EXPECT_TRUE(client->remote == server->local);
    EXPECT_FALSE(client->local == client->remote);

    // RFC 5764 §4.2 layout: the client writes with bytes [0, k) and salt [2k, 2k + s).
    const auto local = client->local.bytes();
    ASSERT_EQ(local.size(), size_t{p.keyLength} + p.saltLength);
    EXPECT_EQ(local[0], 0);
    EXPECT_EQ(local[p.keyLength - 1], p.keyLength - 1);
    EXPECT_EQ(local[p.keyLength], 2 * p.keyLength);
    const auto remote = client->remote.bytes();
    EXPECT_EQ(remote[0], p.keyLength);
    EXPECT_EQ(remote[p.keyLength], 2 * p.keyLength + p.saltLength);
    EXPECT_EQ(remote.back(), material.back());

    // What the client sends, the server reads, and back.
    auto clientOut = makeSession(SrtpSession::Kind::kOutbound, profile, client->local);
    auto serverIn = makeSession(SrtpSession::Kind::kInbound, profile, server->remote);
    auto serverOut = makeSession(SrtpSession::Kind::kOutbound, profile, server->local);
    auto clientIn = makeSession(SrtpSession::Kind::kInbound, profile, client->remote);
    const Bytes a = rtpPacket(1, 1, 64), b = rtpPacket(2, 1, 64);
    EXPECT_EQ(unprotect(serverIn, protect(clientOut, a, false), false).first, a);
    EXPECT_EQ(unprotect(clientIn, protect(serverOut, b, false), false).first, b);
    EXPECT_EQ(unprotect(clientIn, protect(clientOut, a, false), false).second,
              SrtpError::kAuthFail);

    material.pop_back();
    EXPECT_FALSE(splitDtlsSrtpKeyingMaterial(profile, material, DtlsRole::kClient));
  }
}

TEST(SrtpSessionTest, WrongKeyLengthIsRefused) {
  const auto key = patternKey(SrtpProfile::kAesCm128HmacSha1_80, 1);  // 30 bytes
  auto s = SrtpSession::create(SrtpSession::Kind::kInbound, SrtpProfile::kAeadAes128Gcm, key);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "srtp_bad_key");
}

TEST(SrtpSessionTest, MovedSessionKeepsWorking) {
  const auto key = patternKey(SrtpProfile::kAeadAes128Gcm, 4);
  auto out = makeSession(SrtpSession::Kind::kOutbound, SrtpProfile::kAeadAes128Gcm, key);
  auto in = makeSession(SrtpSession::Kind::kInbound, SrtpProfile::kAeadAes128Gcm, key);
  SrtpSession moved = std::move(in);
  const Bytes plain = rtpPacket(3, 3, 30);
  EXPECT_EQ(unprotect(moved, protect(out, plain, false), false).first, plain);
}

TEST(SrtpSessionTest, SessionsOnSeveralThreads) {
  std::vector<std::thread> threads;
  std::array<int, 4> failures{};
  for (size_t t = 0; t < failures.size(); ++t) {
    threads.emplace_back([t, &failures] {
      const auto profile = t % 2 ? SrtpProfile::kAeadAes128Gcm : SrtpProfile::kAesCm128HmacSha1_80;
      const auto key = patternKey(profile, static_cast<uint8_t>(t));
      auto out = SrtpSession::create(SrtpSession::Kind::kOutbound, profile, key);
      auto in = SrtpSession::create(SrtpSession::Kind::kInbound, profile, key);
      if (!out || !in) {
        ++failures[t];
        return;
      }
      for (uint16_t seq = 0; seq < 200; ++seq) {
        Bytes p = rtpPacket(static_cast<uint32_t>(t), seq, 100);
        const Bytes plain = p;
        p.resize(p.size() + 16);
        size_t len = plain.size();
        if (!out->protectRtp(p.data(), len, p.size()) || !in->unprotectRtp(p.data(), len)) {
          ++failures[t];
        } else if (!std::equal(plain.begin(), plain.end(), p.begin()) || len != plain.size()) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, (std::array<int, 4>{}));
}

TEST(SrtpLibraryTest, BackendAndVersion) {
  ASSERT_TRUE(srtpInit().ok());
  EXPECT_NE(srtpVersion().find("2.5.0"), std::string_view::npos) << srtpVersion();
#if MEDRELAY_SRTP_OPENSSL
  // Built from Debian's source on OpenSSL (MEDRELAY_SRTP_FROM_SOURCE): the crypto really is.
  EXPECT_EQ(srtpBackend(), "openssl");
#else
  EXPECT_EQ(srtpBackend(), "nss");  // Debian's libsrtp2-1
#endif
  EXPECT_EQ(srtpErrorName(SrtpError::kAuthFail), "auth_fail");
  EXPECT_EQ(srtpErrorName(SrtpError::kReplayFail), "replay_fail");
  EXPECT_EQ(srtpErrorName(SrtpError::kOther), "other");
  EXPECT_EQ(srtpStatusText(7), "authentication failed");
}

// --- Known answers: RFC 3711 Appendix B ---------------------------------------------------------

// AES-CM keystream (RFC 3711 §4.1.1): IV = (k_s * 2^16) ^ (SSRC * 2^64) ^ (i * 2^16), then AES-CTR.
Bytes aesCmKeystream(const Bytes& key, const Bytes& salt, uint32_t ssrc, uint64_t index, size_t n) {
  std::array<uint8_t, 16> iv{};
  std::copy(salt.begin(), salt.end(), iv.begin());
  for (int i = 0; i < 4; ++i) iv[4 + i] ^= static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (int i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  Bytes zeros(n), out(n);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int outLen = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key.data(), iv.data());
  EVP_EncryptUpdate(ctx, out.data(), &outLen, zeros.data(), static_cast<int>(n));
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

TEST(SrtpKnownAnswerTest, Rfc3711B2KeystreamHelper) {
  // RFC 3711 B.2: session key and salt, SSRC 0, index 0; first three keystream blocks.
  const Bytes ks = aesCmKeystream(fromHex("2B7E151628AED2A6ABF7158809CF4F3C"),
                                  fromHex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"), 0, 0, 48);
  EXPECT_EQ(ks, fromHex("E03EAD0935C95E80E166B16DD92B4EB4"
                        "D23513162B02D0F72A43A2FE4A5F97AB"
                        "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

TEST(SrtpKnownAnswerTest, Rfc3711B3MasterKeyProtectsAsSpecified) {
  // RFC 3711 B.3: this master key/salt derives these session keys (KDR 0). Our output must equal
  // AES-CM with that cipher key/salt and HMAC-SHA1-80 with that auth key (RFC 3711 §4.1, §4.2),
  // computed here independently of libsrtp.
  const Bytes masterKey = fromHex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const Bytes masterSalt = fromHex("0EC675AD498AFEEBB6960B3AABE6");
  const Bytes cipherKey = fromHex("C61E7A93744F39EE10734AFE3FF7A087");
  const Bytes cipherSalt = fromHex("30CBBC08863D8C85D49DB34A9AE1");
  const Bytes authKey = fromHex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");

  const uint32_t ssrc = 0xDECAFBAD;
  const uint16_t seq = 0x1234;  // ROC 0, so index = seq
  const Bytes plain = rtpPacket(ssrc, seq, 45);

  Bytes expected = plain;
  const Bytes ks = aesCmKeystream(cipherKey, cipherSalt, ssrc, seq, plain.size() - 12);
  for (size_t i = 12; i < expected.size(); ++i) expected[i] ^= ks[i - 12];
  Bytes authed = expected;
  authed.insert(authed.end(), {0, 0, 0, 0});  // RFC 3711 §4.2: M = packet || ROC
  uint8_t mac[20];
  unsigned macLen = 0;
  HMAC(EVP_sha1(), authKey.data(), static_cast<int>(authKey.size()), authed.data(), authed.size(),
       mac, &macLen);
  ASSERT_EQ(macLen, 20u);
  expected.insert(expected.end(), mac, mac + 10);

  const SrtpMasterKey key(masterKey, masterSalt);
  auto out = makeSession(SrtpSession::Kind::kOutbound, SrtpProfile::kAesCm128HmacSha1_80, key);
  EXPECT_EQ(protect(out, plain, false), expected);

  auto in = makeSession(SrtpSession::Kind::kInbound, SrtpProfile::kAesCm128HmacSha1_80, key);
  EXPECT_EQ(unprotect(in, expected, false).first, plain);
}

}  // namespace
}  // namespace medrelay::media

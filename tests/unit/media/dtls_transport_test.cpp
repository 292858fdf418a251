#include "media/dtls_transport.h"

#include <gtest/gtest.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/dtls_test_pipe.h"

namespace medrelay::media {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using test::DtlsPipe;
using State = DtlsTransport::State;

std::unique_ptr<DtlsContext> makeContext(DtlsContext::Options options = {}) {
  auto cert = DtlsCertificate::generate();
  EXPECT_TRUE(cert.ok());
  auto ctx = DtlsContext::create(std::move(cert.value()), std::move(options));
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().message);
  return std::move(ctx.value());
}

// Fast timers so that loss tests take well under a second.
DtlsContext::Options fastOptions() {
  DtlsContext::Options o;
  o.initialRetransmit = 50ms;
  o.maxRetransmit = 400ms;
  return o;
}

Bytes rtpPacket(uint16_t seq) {
  Bytes p = {
      0x80, 96,  static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0, 1, 0xca, 0xfe,
      0xba, 0xbe};
  for (int i = 0; i < 100; ++i) p.push_back(static_cast<uint8_t>(i + seq));
  return p;
}

// Protects with `from`'s local key and unprotects with `to`'s remote key.
void expectSrtpFlows(SrtpProfile profile, const SrtpKeys& from, const SrtpKeys& to) {
  auto out = SrtpSession::create(SrtpSession::Kind::kOutbound, profile, from.local);
  auto in = SrtpSession::create(SrtpSession::Kind::kInbound, profile, to.remote);
  ASSERT_TRUE(out.ok() && in.ok());
  const Bytes plain = rtpPacket(7);
  Bytes buf = plain;
  buf.resize(plain.size() + 64);
  size_t len = plain.size();
  ASSERT_TRUE(out->protectRtp(buf.data(), len, buf.size()));
  EXPECT_NE(len, plain.size());
  ASSERT_TRUE(in->unprotectRtp(buf.data(), len));
  ASSERT_EQ(len, plain.size());
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), buf.begin()));
}

class DtlsTransportTest : public ::testing::Test {
 protected:
  net::Dispatcher dispatcher_{"dtls-test"};
};

TEST_F(DtlsTransportTest, HandshakeGivesSameProfileAndMirroredKeys) {
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  ASSERT_TRUE(pipe.connect());

  EXPECT_EQ(pipe.clientEndpoint.connectedCount, 1);
  EXPECT_EQ(pipe.serverEndpoint.connectedCount, 1);
  ASSERT_TRUE(pipe.clientEndpoint.keys && pipe.serverEndpoint.keys);
  EXPECT_EQ(pipe.clientEndpoint.profile, SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(pipe.serverEndpoint.profile, SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(pipe.client.srtpProfile(), SrtpProfile::kAeadAes128Gcm);
  const SrtpKeys& c = *pipe.clientEndpoint.keys;
  const SrtpKeys& s = *pipe.serverEndpoint.keys;
  EXPECT_TRUE(c.local == s.remote);
  EXPECT_TRUE(c.remote == s.local);
  EXPECT_FALSE(c.local == c.remote);
  EXPECT_EQ(c.local.bytes().size(), 16u + 12u);  // RFC 7714 §12
  expectSrtpFlows(SrtpProfile::kAeadAes128Gcm, c, s);
  expectSrtpFlows(SrtpProfile::kAeadAes128Gcm, s, c);

  EXPECT_EQ(clientCtx->counters().handshakesOk, 1u);
  EXPECT_EQ(serverCtx->counters().handshakesOk, 1u);
  EXPECT_EQ(serverCtx->counters().handshakesStarted, 1u);
  // Each datagram fits the default 1200-byte MTU.
  for (const auto& d : pipe.serverEndpoint.sent) EXPECT_LE(d.size(), 1200u);
}

struct ProfileCase {
  std::vector<SrtpProfile> client;
  std::vector<SrtpProfile> server;
  SrtpProfile expected;
};

class DtlsProfileTest : public DtlsTransportTest,
                        public ::testing::WithParamInterface<ProfileCase> {};

TEST_P(DtlsProfileTest, ServerPreferenceWins) {
  DtlsContext::Options co;
  co.srtpProfiles = GetParam().client;
  DtlsContext::Options so;
  so.srtpProfiles = GetParam().server;
  auto clientCtx = makeContext(co);
  auto serverCtx = makeContext(so);
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  ASSERT_TRUE(pipe.connect());
  EXPECT_EQ(pipe.clientEndpoint.profile, GetParam().expected);
  EXPECT_EQ(pipe.serverEndpoint.profile, GetParam().expected);
  const auto& params = srtpProfileParams(GetParam().expected);
  EXPECT_EQ(pipe.clientEndpoint.keys->local.bytes().size(),
            size_t{params.keyLength} + params.saltLength);
  expectSrtpFlows(GetParam().expected, *pipe.clientEndpoint.keys, *pipe.serverEndpoint.keys);
  expectSrtpFlows(GetParam().expected, *pipe.serverEndpoint.keys, *pipe.clientEndpoint.keys);
}

constexpr auto kGcm128 = SrtpProfile::kAeadAes128Gcm;
constexpr auto kGcm256 = SrtpProfile::kAeadAes256Gcm;
constexpr auto kCm80 = SrtpProfile::kAesCm128HmacSha1_80;
const std::vector<SrtpProfile> kOurs = {kGcm128, kGcm256, kCm80};

INSTANTIATE_TEST_SUITE_P(
    Profiles, DtlsProfileTest,
    ::testing::Values(
        // Chromium's order (CM-80 first): our server still picks GCM-128.
        ProfileCase{{kCm80, kGcm256, kGcm128}, kOurs, kGcm128}, ProfileCase{kOurs, kOurs, kGcm128},
        // aiortc / GStreamer offer only CM-80.
        ProfileCase{{kCm80}, kOurs, kCm80}, ProfileCase{{kCm80, kGcm256}, kOurs, kGcm256},
        // We as client: the peer server's choice is taken.
        ProfileCase{kOurs, {kCm80}, kCm80}, ProfileCase{kOurs, {kGcm256, kGcm128}, kGcm256}));

// OpenSSL 3.0 picks the use_srtp profile by the server's list whether or not
// SSL_OP_CIPHER_SERVER_PREFERENCE is set (that option governs cipher suites only).
TEST_F(DtlsTransportTest, SrtpProfileChoiceDoesNotDependOnCipherServerPreference) {
  DtlsContext::Options co;
  co.srtpProfiles = {kCm80, kGcm256, kGcm128};
  auto clientCtx = makeContext(co);
  auto serverCtx = makeContext();
  ASSERT_NE(SSL_CTX_get_options(serverCtx->sslContext()) & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
  SSL_CTX_clear_options(serverCtx->sslContext(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  ASSERT_TRUE(pipe.connect());
  EXPECT_EQ(pipe.serverEndpoint.profile, kGcm128);
}

TEST_F(DtlsTransportTest, NoCommonProfileFailsBothSidesWithoutKeys) {
  DtlsContext::Options co;
  co.srtpProfiles = {kGcm128};
  DtlsContext::Options so;
  so.srtpProfiles = {kCm80};
  auto clientCtx = makeContext(co);
  auto serverCtx = makeContext(so);
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  EXPECT_FALSE(pipe.connect());
  EXPECT_EQ(pipe.serverEndpoint.failure, DtlsFailure::kNoSrtpProfile);
  EXPECT_EQ(pipe.serverEndpoint.connectedCount, 0);
  EXPECT_EQ(
      serverCtx->counters().handshakesFailed[static_cast<size_t>(DtlsFailure::kNoSrtpProfile)], 1u);
}

TEST_F(DtlsTransportTest, ServerRejectsClientCertificateWithWrongFingerprint) {
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  auto other = DtlsCertificate::generate();
  ASSERT_TRUE(other.ok());
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  pipe.server.setRemoteFingerprint(other.value()->fingerprint());
  EXPECT_FALSE(pipe.connect());
  EXPECT_EQ(pipe.server.state(), State::kFailed);
  EXPECT_EQ(pipe.serverEndpoint.failure, DtlsFailure::kFingerprintMismatch);
  EXPECT_EQ(pipe.serverEndpoint.connectedCount, 0);
  EXPECT_FALSE(pipe.serverEndpoint.keys);
  // The client hears bad_certificate before it ever sees the server's Finished.
  EXPECT_EQ(pipe.clientEndpoint.failure, DtlsFailure::kAlertReceived);
  EXPECT_FALSE(pipe.clientEndpoint.keys);
  EXPECT_EQ(serverCtx->counters()
                .handshakesFailed[static_cast<size_t>(DtlsFailure::kFingerprintMismatch)],
            1u);
  EXPECT_EQ(serverCtx->counters().handshakesOk, 0u);
}

TEST_F(DtlsTransportTest, ClientRejectsServerCertificateWithWrongFingerprint) {
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  // Right algorithm and length, one bit off.
  Fingerprint wrong = serverCtx->certificate().fingerprint();
  wrong.digest[5] ^= 0x01;
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  pipe.client.setRemoteFingerprint(wrong);
  EXPECT_FALSE(pipe.connect());
  EXPECT_EQ(pipe.clientEndpoint.failure, DtlsFailure::kFingerprintMismatch);
  EXPECT_FALSE(pipe.clientEndpoint.keys);
  EXPECT_FALSE(pipe.serverEndpoint.keys);
  EXPECT_EQ(pipe.server.state(), State::kFailed);
}

TEST_F(DtlsTransportTest, FingerprintOfAnySdpAlgorithmIsChecked) {
  for (auto alg : {FingerprintAlgorithm::kSha1, FingerprintAlgorithm::kSha224,
                   FingerprintAlgorithm::kSha384, FingerprintAlgorithm::kSha512}) {
    SCOPED_TRACE(std::string(fingerprintAlgorithmName(alg)));
    auto clientCtx = makeContext();
    auto serverCtx = makeContext();
    DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
    auto fp = certificateFingerprint(clientCtx->certificate().certificate(), alg);
    ASSERT_TRUE(fp);
    pipe.server.setRemoteFingerprint(*Fingerprint::parse(fp->sdp()));
    ASSERT_TRUE(pipe.connect());
  }
  // Same digest bytes under another algorithm name do not match.
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  auto fp =
      certificateFingerprint(clientCtx->certificate().certificate(), FingerprintAlgorithm::kSha384);
  fp->algorithm = FingerprintAlgorithm::kSha512;
  pipe.server.setRemoteFingerprint(*fp);
  EXPECT_FALSE(pipe.connect());
  EXPECT_EQ(pipe.serverEndpoint.failure, DtlsFailure::kFingerprintMismatch);
}

TEST_F(DtlsTransportTest, LostDatagramsAreRetransmitted) {
  auto clientCtx = makeContext(fastOptions());
  auto serverCtx = makeContext(fastOptions());
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  size_t toServer = 0;
  size_t toClient = 0;
  // The first two ClientHellos and the server's first flight are lost.
  pipe.toServer = [&](const Bytes& d) {
    return ++toServer <= 2 ? std::vector<Bytes>{} : std::vector<Bytes>{d};
  };
  pipe.toClient = [&](const Bytes& d) {
    return ++toClient <= 4 ? std::vector<Bytes>{} : std::vector<Bytes>{d};
  };
  ASSERT_TRUE(pipe.connect());
  EXPECT_GE(clientCtx->counters().retransmissions, 2u);
  EXPECT_GE(clientCtx->counters().retransmissions + serverCtx->counters().retransmissions, 3u);
  EXPECT_TRUE(pipe.clientEndpoint.keys->local == pipe.serverEndpoint.keys->remote);
}

TEST_F(DtlsTransportTest, LostFinalFlightIsResentFromConnectedServer) {
  auto clientCtx = makeContext(fastOptions());
  auto serverCtx = makeContext(fastOptions());
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  // The server's last flight (ChangeCipherSpec, then Finished in epoch 1) is lost once. The
  // server is connected by then; the client's retransmitted flight makes it resend.
  bool dropped = false;
  size_t serverSentWhenDropped = 0;
  pipe.toClient = [&](const Bytes& d) {
    if (dropped) return std::vector<Bytes>{d};
    for (const auto& r : test::parseRecords(d)) {
      if (r.type == 20 || r.epoch == 1) {
        if (r.epoch == 1) {
          dropped = true;
          serverSentWhenDropped = pipe.serverEndpoint.sent.size();
        }
        return std::vector<Bytes>{};
      }
    }
    return std::vector<Bytes>{d};
  };
  ASSERT_TRUE(pipe.connect());
  EXPECT_TRUE(dropped);
  EXPECT_GT(pipe.serverEndpoint.sent.size(), serverSentWhenDropped);
  EXPECT_GE(clientCtx->counters().retransmissions, 1u);
  EXPECT_TRUE(pipe.clientEndpoint.keys->local == pipe.serverEndpoint.keys->remote);
}

TEST_F(DtlsTransportTest, ClientHelloInTwoFragmentsAndDatagrams) {
  for (bool reverse : {false, true}) {
    SCOPED_TRACE(reverse ? "second fragment first" : "in order");
    auto clientCtx = makeContext();
    auto serverCtx = makeContext();
    DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
    test::ClientHelloSplitter splitter(2, reverse);
    pipe.toServer = [&](const Bytes& d) { return splitter(d); };
    ASSERT_TRUE(pipe.connect());
    EXPECT_EQ(splitter.helloDatagrams(), 2u);  // one ClientHello, no retransmission needed
    EXPECT_TRUE(pipe.clientEndpoint.keys->remote == pipe.serverEndpoint.keys->local);
  }
}

TEST_F(DtlsTransportTest, ClientHelloInManySmallFragments) {
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  test::ClientHelloSplitter splitter(7);
  pipe.toServer = [&](const Bytes& d) { return splitter(d); };
  ASSERT_TRUE(pipe.connect());
  EXPECT_EQ(splitter.helloDatagrams(), 7u);
}

TEST_F(DtlsTransportTest, SmallMtuFragmentsCertificateFlights) {
  DtlsContext::Options o;
  o.mtu = 256;
  auto clientCtx = makeContext(o);
  auto serverCtx = makeContext(o);
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  ASSERT_TRUE(pipe.connect());
  auto certificateDatagrams = [](const std::vector<Bytes>& sent) {
    size_t n = 0;
    for (const auto& d : sent) {
      EXPECT_LE(d.size(), 256u);
      for (const auto& r : test::parseRecords(d)) n += test::handshakeType(r) == 11 ? 1 : 0;
    }
    return n;
  };
  // Each side's Certificate message (~400 bytes) went out in several fragments.
  EXPECT_GE(certificateDatagrams(pipe.serverEndpoint.sent), 2u);
  EXPECT_GE(certificateDatagrams(pipe.clientEndpoint.sent), 2u);
  // The server's first flight (ServerHello .. ServerHelloDone) alone took several datagrams.
  EXPECT_GE(pipe.serverEndpoint.sent.size(), 4u);
}

TEST_F(DtlsTransportTest, GarbageBeforeAndDuringHandshakeIsSurvived) {
  auto clientCtx = makeContext(fastOptions());
  auto serverCtx = makeContext(fastOptions());
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);

  const uint8_t early[] = {22, 0xfe, 0xfd, 0, 0};
  pipe.server.receive(early, sizeof(early));  // before start
  EXPECT_EQ(serverCtx->counters().datagramsDropped[static_cast<size_t>(DtlsDrop::kNotStarted)], 1u);

  // Around every real datagram: a random handshake-looking datagram, a truncated copy of the
  // real one, non-DTLS ones (STUN/RTP first bytes) and a duplicate. (A well-formed record whose
  // handshake message is corrupted is another matter: epoch 0 is unauthenticated and OpenSSL
  // ends the handshake with decode_error, as the fuzz target exercises.)
  auto noisy = [](const Bytes& d) {
    std::vector<Bytes> out;
    Bytes random(1 + d.size() % 200);
    RAND_bytes(random.data(), static_cast<int>(random.size()));
    random[0] = 22;
    out.push_back(random);
    out.push_back(Bytes(d.begin(), d.begin() + static_cast<long>(d.size() / 2)));
    out.push_back(Bytes{0x00, 0x01, 0x00, 0x00});
    out.push_back(Bytes{0x80, 0x60});
    out.push_back(d);
    out.push_back(d);
    return out;
  };
  pipe.toServer = noisy;
  pipe.toClient = noisy;
  ASSERT_TRUE(pipe.connect());
  EXPECT_GT(serverCtx->counters().datagramsDropped[static_cast<size_t>(DtlsDrop::kNotDtls)], 0u);

  // After connecting, garbage is ignored and data still flows.
  const Bytes junk(300, 23);
  pipe.server.receive(junk.data(), junk.size());
  pipe.server.receive(nullptr, 0);
  const Bytes big(DtlsTransport::kMaxDatagram + 1, 23);
  pipe.server.receive(big.data(), big.size());
  EXPECT_EQ(serverCtx->counters().datagramsDropped[static_cast<size_t>(DtlsDrop::kOversized)], 1u);
  EXPECT_EQ(pipe.server.state(), State::kConnected);
  const Bytes hello = {'h', 'i'};
  pipe.toServer = nullptr;
  ASSERT_TRUE(pipe.client.send(hello.data(), hello.size()));
  ASSERT_TRUE(test::runUntil(
      dispatcher_, [&] { return !pipe.serverEndpoint.received.empty(); }, 2s));
  EXPECT_EQ(pipe.serverEndpoint.received.front(), hello);
}

TEST_F(DtlsTransportTest, ApplicationDataBothWays) {
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  EXPECT_FALSE(pipe.client.send(reinterpret_cast<const uint8_t*>("x"), 1));  // not yet
  ASSERT_TRUE(pipe.connect());
  Bytes a(1000), b(1);
  RAND_bytes(a.data(), static_cast<int>(a.size()));
  b[0] = 42;
  ASSERT_TRUE(pipe.client.send(a.data(), a.size()));
  ASSERT_TRUE(pipe.server.send(b.data(), b.size()));
  ASSERT_TRUE(test::runUntil(
      dispatcher_,
      [&] {
        return !pipe.serverEndpoint.received.empty() && !pipe.clientEndpoint.received.empty();
      },
      2s));
  EXPECT_EQ(pipe.serverEndpoint.received.front(), a);
  EXPECT_EQ(pipe.clientEndpoint.received.front(), b);
}

TEST_F(DtlsTransportTest, CloseNotifyReachesPeer) {
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  ASSERT_TRUE(pipe.connect());
  const size_t sentBefore = pipe.clientEndpoint.sent.size();
  pipe.client.close();
  EXPECT_EQ(pipe.client.state(), State::kClosed);
  EXPECT_EQ(pipe.clientEndpoint.sent.size(), sentBefore + 1);  // the alert
  ASSERT_TRUE(test::runUntil(
      dispatcher_, [&] { return pipe.serverEndpoint.closedCount > 0; }, 2s));
  EXPECT_EQ(pipe.server.state(), State::kClosed);
  EXPECT_EQ(pipe.serverEndpoint.closedCount, 1);
  EXPECT_FALSE(pipe.serverEndpoint.failure);
  EXPECT_EQ(serverCtx->counters().closedByPeer, 1u);
  pipe.client.close();  // idempotent
  EXPECT_FALSE(pipe.server.send(reinterpret_cast<const uint8_t*>("x"), 1));
  // Datagrams after the end are counted, not processed.
  pipe.server.receive(pipe.clientEndpoint.sent.front().data(),
                      pipe.clientEndpoint.sent.front().size());
  EXPECT_EQ(serverCtx->counters().datagramsDropped[static_cast<size_t>(DtlsDrop::kFinished)], 1u);
}

TEST_F(DtlsTransportTest, HandshakeTimesOut) {
  DtlsContext::Options o = fastOptions();
  o.handshakeTimeout = 300ms;
  auto clientCtx = makeContext(o);
  auto serverCtx = makeContext(o);
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  pipe.toServer = [](const Bytes&) { return std::vector<Bytes>{}; };  // black hole
  EXPECT_FALSE(pipe.connect(5s));
  EXPECT_EQ(pipe.clientEndpoint.failure, DtlsFailure::kTimeout);
  EXPECT_EQ(pipe.serverEndpoint.failure, DtlsFailure::kTimeout);
  EXPECT_EQ(clientCtx->counters().handshakesFailed[static_cast<size_t>(DtlsFailure::kTimeout)], 1u);
  // The ClientHello was resent on the timer before giving up.
  EXPECT_GE(pipe.clientEndpoint.sent.size(), 3u);
}

TEST_F(DtlsTransportTest, StartErrors) {
  auto ctx = makeContext();
  test::DtlsEndpoint endpoint;
  DtlsTransport t(dispatcher_, *ctx, endpoint);
  auto r = t.start(DtlsRole::kServer);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "dtls_fingerprint");
  t.setRemoteFingerprint(ctx->certificate().fingerprint());
  ASSERT_TRUE(t.start(DtlsRole::kServer).ok());
  EXPECT_EQ(t.state(), State::kConnecting);
  EXPECT_TRUE(endpoint.sent.empty());  // the server waits for the ClientHello
  EXPECT_FALSE(t.start(DtlsRole::kClient).ok());

  DtlsContext::Options bad;
  bad.mtu = 100;
  auto cert = DtlsCertificate::generate();
  EXPECT_FALSE(DtlsContext::create(cert.value(), bad).ok());
  bad = {};
  bad.srtpProfiles.clear();
  EXPECT_FALSE(DtlsContext::create(cert.value(), bad).ok());
}

TEST_F(DtlsTransportTest, DestroyedMidHandshakeLeavesLoopClean) {
  auto clientCtx = makeContext(fastOptions());
  auto serverCtx = makeContext(fastOptions());
  {
    DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
    ASSERT_TRUE(pipe.client.start(DtlsRole::kClient).ok());
    ASSERT_TRUE(pipe.server.start(DtlsRole::kServer).ok());
  }
  // Pending deliveries and timers of the destroyed pair must not fire into freed memory.
  test::runUntil(
      dispatcher_, [] { return false; }, 200ms);
}

// Writes ClientHello datagrams in the fuzz target's input format when asked:
// MEDRELAY_DTLS_CORPUS_OUT=tests/fuzz/corpus/dtls build/debug/tests/medrelay_unit_tests
//   --gtest_filter=*WriteFuzzSeeds*
TEST_F(DtlsTransportTest, WriteFuzzSeeds) {
  const char* dir = std::getenv("MEDRELAY_DTLS_CORPUS_OUT");
  if (dir == nullptr) GTEST_SKIP() << "MEDRELAY_DTLS_CORPUS_OUT not set";
  auto clientCtx = makeContext();
  auto serverCtx = makeContext();
  DtlsPipe pipe(dispatcher_, *clientCtx, *serverCtx);
  test::ClientHelloSplitter splitter(2);
  std::vector<Bytes> fragments;
  pipe.toServer = [&](const Bytes& d) {
    auto out = splitter(d);
    if (fragments.empty() && test::isClientHello(d)) fragments = out;
    return out;
  };
  ASSERT_TRUE(pipe.connect());
  // Mode byte, then each datagram as a 2-byte big-endian length and its bytes.
  auto write = [&](const std::string& name, uint8_t mode, const std::vector<Bytes>& datagrams) {
    Bytes input = {mode};
    for (const auto& d : datagrams) {
      input.push_back(static_cast<uint8_t>(d.size() >> 8));
      input.push_back(static_cast<uint8_t>(d.size()));
      input.insert(input.end(), d.begin(), d.end());
    }
    std::ofstream(std::filesystem::path(dir) / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(input.data()), static_cast<long>(input.size()));
  };
  write("client_hello_fragments", 0, fragments);
  write("client_flights", 0, pipe.clientEndpoint.sent);
  write("server_flights", 2, pipe.serverEndpoint.sent);
  write("records_after_handshake", 1,
        {Bytes{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 3, 1, 2, 3}});
}

}  // namespace
}  // namespace medrelay::media

// DtlsTransport against an independent DTLS 1.2 stack: the `openssl s_client` / `s_server`
// command-line tools, over real UDP sockets on 127.0.0.1. The tools print the negotiated SRTP
// profile and the RFC 5764 §4.2 keying material, which must equal what we exported.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "media/dtls_transport.h"
#include "net/dispatcher.h"
#include "net/uv_handle.h"
#include "tests/support/dtls_test_pipe.h"
#include "tests/support/test_support.h"

namespace medrelay::media {
namespace {

using namespace std::chrono_literals;
using State = DtlsTransport::State;

// An `openssl` child process with a pipe to its stdin and its stdout+stderr collected.
class OpenSslTool {
 public:
  explicit OpenSslTool(const std::vector<std::string>& args) {
    int in[2];
    int out[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::close(in[1]);
      ::close(out[0]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>("openssl"));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp("openssl", argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(stdout_, buf, sizeof buf)) > 0) {
        std::lock_guard lock(mutex_);
        output_.append(buf, static_cast<size_t>(n));
      }
    });
  }

  ~OpenSslTool() {
    closeStdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
    if (stdout_ >= 0) ::close(stdout_);
  }

  void write(const std::string& text) {
    if (stdin_ >= 0) (void)!::write(stdin_, text.data(), text.size());
  }
  void closeStdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  std::string output() {
    std::lock_guard lock(mutex_);
    return output_;
  }
  // Waits until the output matches `pattern`; returns the first capture group (or the match).
  std::string waitFor(const std::string& pattern, std::chrono::milliseconds timeout = 10s) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string text = output();
      if (std::regex_search(text, m, re)) return m.size() > 1 ? m[1].str() : m[0].str();
      std::this_thread::sleep_for(10ms);
    }
    return {};
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::string output_;
};

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// RFC 5764 §4.2 material rebuilt from our split keys: client_key | server_key | client_salt |
// server_salt.
std::string keyingMaterialHex(SrtpProfile profile, const SrtpKeys& keys, DtlsRole role) {
  const auto& p = srtpProfileParams(profile);
  const auto& client = role == DtlsRole::kClient ? keys.local : keys.remote;
  const auto& server = role == DtlsRole::kClient ? keys.remote : keys.local;
  return hex(client.bytes().first(p.keyLength)) + hex(server.bytes().first(p.keyLength)) +
         hex(client.bytes().subspan(p.keyLength)) + hex(server.bytes().subspan(p.keyLength));
}

// One DtlsTransport behind a UDP socket on 127.0.0.1, all on a loop thread. The peer address is
// fixed (client role) or learnt from the first datagram (server role).
class UdpDtlsPeer : public test::DtlsEndpoint {
 public:
  UdpDtlsPeer() {
    loop_.runSync([this] {
      auto cert = DtlsCertificate::generate();
      ASSERT_TRUE(cert.ok());
      auto ctx = DtlsContext::create(cert.value());
      ASSERT_TRUE(ctx.ok());
      context_ = std::move(ctx.value());
      transport_ = std::make_unique<DtlsTransport>(loop_.dispatcher(), *context_, *this);
      uv_udp_init(loop_.dispatcher().loop(), socket_.get());
      socket_.get()->data = this;
      sockaddr_in addr{};
      uv_ip4_addr("127.0.0.1", 0, &addr);
      ASSERT_EQ(uv_udp_bind(socket_.get(), reinterpret_cast<const sockaddr*>(&addr), 0), 0);
      sockaddr_in bound{};
      int len = sizeof(bound);
      uv_udp_getsockname(socket_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
      port_ = ntohs(bound.sin_port);
      uv_udp_recv_start(
          socket_.get(),
          [](uv_handle_t*, size_t, uv_buf_t* buf) {
            static thread_local char storage[65536];
            *buf = uv_buf_init(storage, sizeof storage);
          },
          [](uv_udp_t* s, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned) {
            auto* self = static_cast<UdpDtlsPeer*>(s->data);
            if (self == nullptr || n <= 0 || from == nullptr) return;
            if (!self->havePeer_) {
              std::memcpy(&self->peer_, from, sizeof(sockaddr_in));
              self->havePeer_ = true;
            }
            self->inbound.emplace_back(buf->base, buf->base + n);
            self->transport_->receive(reinterpret_cast<const uint8_t*>(buf->base),
                                      static_cast<size_t>(n));
          });
    });
  }
  ~UdpDtlsPeer() override {
    loop_.runSync([this] {
      transport_.reset();
      socket_.reset();
    });
    loop_.stopAndJoin();
  }

  void onDtlsSend(const uint8_t* data, size_t len) override {
    test::DtlsEndpoint::onDtlsSend(data, len);
    if (!havePeer_) return;
    uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)),
                             static_cast<unsigned>(len));
    uv_udp_try_send(socket_.get(), &b, 1, reinterpret_cast<const sockaddr*>(&peer_));
  }

  void start(DtlsRole role, const Fingerprint& remote, uint16_t peerPort = 0) {
    loop_.runSync([&] {
      if (peerPort != 0) {
        uv_ip4_addr("127.0.0.1", peerPort, &peer_);
        havePeer_ = true;
      }
      transport_->setRemoteFingerprint(remote);
      ASSERT_TRUE(transport_->start(role).ok());
    });
  }

  // Runs fn on the loop thread (the only thread that touches the transport and the records).
  template <typename Fn>
  auto onLoop(Fn fn) {
    decltype(fn()) result{};
    loop_.runSync([&] { result = fn(); });
    return result;
  }
  bool waitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (onLoop([&] { return pred(); })) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  DtlsTransport& transport() { return *transport_; }
  DtlsContext& context() { return *context_; }
  uint16_t port() const { return port_; }
  std::vector<test::Bytes> inbound;  // every datagram the peer sent us

 private:
  net::DispatcherThread loop_{"dtls-interop"};
  std::unique_ptr<DtlsContext> context_;
  std::unique_ptr<DtlsTransport> transport_;
  net::UvHandle<uv_udp_t> socket_;
  uint16_t port_ = 0;
  sockaddr_in peer_{};
  bool havePeer_ = false;
};

// A certificate for the openssl tool, written as PEM files.
struct ToolIdentity {
  test::TempDir dir;
  std::shared_ptr<const DtlsCertificate> cert;
  std::string certPath;
  std::string keyPath;

  ToolIdentity() {
    auto c = DtlsCertificate::generate();
    EXPECT_TRUE(c.ok());
    cert = c.value();
    certPath = (dir.path() / "cert.pem").string();
    keyPath = (dir.path() / "key.pem").string();
    test::writeFile(certPath, cert->certificatePem());
    test::writeFile(keyPath, cert->privateKeyPem());
  }
};

constexpr char kMaterialPattern[] = "Keying material: ([0-9A-Fa-f]+)";

struct ClientCase {
  std::string offer;     // s_client -use_srtp
  SrtpProfile expected;  // what our server must choose
  std::string mtu;       // s_client -mtu, "" for none
};

class DtlsServerVsOpenSslClient : public ::testing::TestWithParam<ClientCase> {};

TEST_P(DtlsServerVsOpenSslClient, HandshakeKeysDataAndCloseNotify) {
  const auto& param = GetParam();
  ToolIdentity tool;
  UdpDtlsPeer us;
  us.start(DtlsRole::kServer, tool.cert->fingerprint());
  const size_t materialLen = dtlsSrtpKeyingMaterialLength(param.expected);
  std::vector<std::string> args = {"s_client",
                                   "-dtls1_2",
                                   "-connect",
                                   "127.0.0.1:" + std::to_string(us.port()),
                                   "-use_srtp",
                                   param.offer,
                                   "-cert",
                                   tool.certPath,
                                   "-key",
                                   tool.keyPath,
                                   "-keymatexport",
                                   "EXTRACTOR-dtls_srtp",
                                   "-keymatexportlen",
                                   std::to_string(materialLen)};
  if (!param.mtu.empty()) args.insert(args.end(), {"-mtu", param.mtu});
  OpenSslTool client(args);

  ASSERT_TRUE(us.waitUntil([&] { return us.transport().state() == State::kConnected; }))
      << client.output();
  const std::string theirs = client.waitFor(kMaterialPattern);
  ASSERT_FALSE(theirs.empty()) << client.output();
  const std::string profileName(srtpProfileParams(param.expected).name);
  EXPECT_FALSE(client.waitFor("SRTP Extension negotiated, profile=" + profileName).empty())
      << client.output();
  const auto [profile, ours] = us.onLoop([&] {
    return std::make_pair(us.profile, keyingMaterialHex(*us.profile, *us.keys, DtlsRole::kServer));
  });
  EXPECT_EQ(profile, param.expected);
  EXPECT_EQ(upper(theirs), ours);
  EXPECT_EQ(ours.size(), materialLen * 2);

  // Application data both ways.
  client.write("hello from s_client\n");
  ASSERT_TRUE(us.waitUntil([&] { return !us.received.empty(); })) << client.output();
  EXPECT_EQ(us.onLoop([&] { return std::string(us.received[0].begin(), us.received[0].end()); }),
            "hello from s_client\n");
  ASSERT_TRUE(us.onLoop([&] {
    const std::string pong = "pong from medrelay\n";
    return us.transport().send(reinterpret_cast<const uint8_t*>(pong.data()), pong.size());
  }));
  EXPECT_FALSE(client.waitFor("pong from medrelay").empty()) << client.output();

  // EOF on its stdin makes s_client send close_notify.
  client.closeStdin();
  ASSERT_TRUE(us.waitUntil([&] { return us.closedCount > 0; })) << client.output();
  EXPECT_EQ(us.onLoop([&] { return us.transport().state(); }), State::kClosed);
  EXPECT_EQ(us.onLoop([&] { return us.context().counters().closedByPeer; }), 1u);
  // With a small link MTU the tool's Certificate message arrived in several fragments and
  // datagrams, which our transport reassembled.
  const auto [certificateRecords, largest] = us.onLoop([&] {
    size_t n = 0;
    size_t max = 0;
    for (const auto& d : us.inbound) {
      max = std::max(max, d.size());
      for (const auto& r : test::parseRecords(d)) n += test::handshakeType(r) == 11 ? 1 : 0;
    }
    return std::make_pair(n, max);
  });
  if (param.mtu.empty()) {
    EXPECT_EQ(certificateRecords, 1u);
  } else {
    EXPECT_GE(certificateRecords, 2u);
    EXPECT_LE(largest, static_cast<size_t>(std::stoi(param.mtu)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, DtlsServerVsOpenSslClient,
    ::testing::Values(
        // aiortc / GStreamer style offer.
        ClientCase{"SRTP_AES128_CM_SHA1_80", SrtpProfile::kAesCm128HmacSha1_80, ""},
        // Chromium's order; our preference wins.
        ClientCase{"SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM",
                   SrtpProfile::kAeadAes128Gcm, ""},
        // A tiny link MTU: the tool's Certificate flight arrives in fragments.
        ClientCase{"SRTP_AEAD_AES_256_GCM", SrtpProfile::kAeadAes256Gcm, "300"}));

TEST(DtlsServerVsOpenSslClientMismatch, WrongFingerprintFailsWithBadCertificate) {
  ToolIdentity tool;
  ToolIdentity impostor;  // the SDP names this one
  UdpDtlsPeer us;
  us.start(DtlsRole::kServer, impostor.cert->fingerprint());
  OpenSslTool client({"s_client", "-dtls1_2", "-connect", "127.0.0.1:" + std::to_string(us.port()),
                      "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-cert", tool.certPath, "-key",
                      tool.keyPath});
  ASSERT_TRUE(us.waitUntil([&] { return us.failure.has_value(); })) << client.output();
  EXPECT_EQ(us.onLoop([&] { return *us.failure; }), DtlsFailure::kFingerprintMismatch);
  EXPECT_EQ(us.onLoop([&] { return us.connectedCount; }), 0);
  EXPECT_FALSE(client.waitFor("alert bad certificate").empty()) << client.output();
}

TEST(DtlsClientVsOpenSslServer, HandshakeKeysAndCloseNotify) {
  ToolIdentity tool;
  // The server prefers AES-256-GCM; we offer it second and must accept its choice.
  OpenSslTool server({"s_server", "-dtls1_2", "-accept", "127.0.0.1:0", "-use_srtp",
                      "SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80", "-cert", tool.certPath,
                      "-key", tool.keyPath, "-verify", "1", "-keymatexport", "EXTRACTOR-dtls_srtp",
                      "-keymatexportlen", "88"});
  const std::string port = server.waitFor("ACCEPT 127\\.0\\.0\\.1:([0-9]+)");
  ASSERT_FALSE(port.empty()) << server.output();

  UdpDtlsPeer us;
  us.start(DtlsRole::kClient, tool.cert->fingerprint(), static_cast<uint16_t>(std::stoi(port)));
  ASSERT_TRUE(us.waitUntil([&] { return us.transport().state() == State::kConnected; }))
      << server.output();
  const std::string theirs = server.waitFor(kMaterialPattern);
  ASSERT_FALSE(theirs.empty()) << server.output();
  const auto ours =
      us.onLoop([&] { return keyingMaterialHex(*us.profile, *us.keys, DtlsRole::kClient); });
  EXPECT_EQ(us.onLoop([&] { return *us.profile; }), SrtpProfile::kAeadAes256Gcm);
  EXPECT_EQ(upper(theirs), ours);
  EXPECT_FALSE(server.waitFor("SRTP Extension negotiated, profile=SRTP_AEAD_AES_256_GCM").empty());
  // s_server saw our certificate (we are authenticated by fingerprint, not by a CA).
  EXPECT_FALSE(server.waitFor("subject=CN = medrelay-").empty()) << server.output();

  ASSERT_TRUE(us.onLoop([&] {
    const std::string hi = "hi s_server\n";
    return us.transport().send(reinterpret_cast<const uint8_t*>(hi.data()), hi.size());
  }));
  EXPECT_FALSE(server.waitFor("hi s_server").empty()) << server.output();
  server.write("from s_server\n");
  ASSERT_TRUE(us.waitUntil([&] { return !us.received.empty(); })) << server.output();

  us.onLoop([&] {
    us.transport().close();
    return 0;
  });
  // s_server reports the peer's close_notify as the connection ending.
  EXPECT_FALSE(server.waitFor("(CONNECTION CLOSED|shutting down SSL|DONE)").empty())
      << server.output();
}

}  // namespace
}  // namespace medrelay::media

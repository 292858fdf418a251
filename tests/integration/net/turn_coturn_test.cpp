// medrelay's TURN (TurnComponent on loopback, ephemeral ports) driven by coturn's client tools:
// turnutils_uclient over UDP, TCP and TLS, with channels and with Send indications, to a
// turnutils_peer on 127.0.0.1 that only an explicit allow-list entry makes reachable; and
// turnutils_stunclient for a plain Binding. Every run is bounded (-n, -m, -z, timeout).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>

#include "server/app.h"
#include "server/turn_component.h"
#include "tests/support/test_support.h"
#include "tests/support/turnutils.h"

extern char** environ;

namespace medrelay::server {
namespace {

using test::freeUdpPort;
using test::haveTool;
using test::parseSummary;
using test::Peer;
using test::run;

using namespace std::chrono_literals;

constexpr const char* kSecret = "coturn-interop-secret-0123";

class TurnCoturnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!haveTool("turnutils_uclient") || !haveTool("turnutils_peer")) {
      GTEST_SKIP() << "coturn client tools not installed (scripts/install-deps.sh test)";
    }
  }

  void start(bool allowPeer) {
    Config c = Config::defaults();
    c.media.workers = 1;
    c.media.udp_port = 0;
    c.turn.udp_listen = "127.0.0.1:0";
    c.turn.tcp_listen = "127.0.0.1:0";
    c.turn.tls_listen = "127.0.0.1:0";
    c.turn.secrets = {kSecret};
    if (allowPeer) c.turn.allow_peers = {"127.0.0.1/32"};
    const std::string cert = dir_.str() + "/cert.pem";
    const std::string key = dir_.str() + "/key.pem";
    ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                           "-subj /CN=localhost -days 1 -keyout " +
                           key + " -out " + cert + " >/dev/null 2>&1")
                              .c_str()),
              0);
    c.http.tls_cert = cert;
    c.http.tls_key = key;
    app_ = std::make_unique<App>(c);
    turn_ = std::make_unique<TurnComponent>(*app_);
    auto r = turn_->start();
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void TearDown() override {
    if (turn_) turn_->stop();
  }

  std::string uclient(const std::string& flags, uint16_t serverPort, uint16_t peerPort) {
    return run("timeout 60 turnutils_uclient -W " + std::string(kSecret) +
               " -u alice -e 127.0.0.1 -r " + std::to_string(peerPort) + " -p " +
               std::to_string(serverPort) + " -n 30 -m 2 -l 120 -z 5 -c " + flags + " 127.0.0.1");
  }

  void expectNoLoss(const std::string& out) {
    const auto s = parseSummary(out);
    EXPECT_EQ(s.lost, 0) << out;
    EXPECT_GT(s.sent, 0) << out;
    EXPECT_EQ(s.received, s.sent) << out;
  }

  test::TempDir dir_;
  std::unique_ptr<App> app_;
  std::unique_ptr<TurnComponent> turn_;
};

TEST_F(TurnCoturnTest, UdpChannels) {
  start(true);
  const uint16_t peerPort = freeUdpPort();
  Peer peer(peerPort);
  expectNoLoss(uclient("", turn_->udpPort(), peerPort));
  EXPECT_GT(turn_->metrics().relayed_packets[metrics::Direction::kOut].value(), 0u);
}

TEST_F(TurnCoturnTest, UdpSendIndications) {
  start(true);
  const uint16_t peerPort = freeUdpPort();
  Peer peer(peerPort);
  expectNoLoss(uclient("-s", turn_->udpPort(), peerPort));
}

TEST_F(TurnCoturnTest, TcpChannelsAndSendIndications) {
  start(true);
  const uint16_t peerPort = freeUdpPort();
  Peer peer(peerPort);
  expectNoLoss(uclient("-t", turn_->tcpPort(), peerPort));
  expectNoLoss(uclient("-t -s", turn_->tcpPort(), peerPort));
}

TEST_F(TurnCoturnTest, TlsChannelsAndSendIndications) {
  start(true);
  const uint16_t peerPort = freeUdpPort();
  Peer peer(peerPort);
  expectNoLoss(uclient("-t -S", turn_->tlsPort(), peerPort));
  expectNoLoss(uclient("-t -S -s", turn_->tlsPort(), peerPort));
}

TEST_F(TurnCoturnTest, WithoutTheAllowEntryThePeerIsForbidden) {
  start(false);
  const uint16_t peerPort = freeUdpPort();
  Peer peer(peerPort);
  const auto out = uclient("", turn_->udpPort(), peerPort);
  const auto s = parseSummary(out);
  EXPECT_NE(s.lost, 0) << out;  // nothing reaches the loopback peer
  EXPECT_EQ(turn_->metrics().relayed_packets[metrics::Direction::kOut].value(), 0u);
  EXPECT_NE(out.find("403"), std::string::npos) << out;
}

TEST_F(TurnCoturnTest, StunClientBinding) {
  if (!haveTool("turnutils_stunclient")) GTEST_SKIP();
  start(true);
  const auto out =
      run("timeout 10 turnutils_stunclient -p " + std::to_string(turn_->udpPort()) + " 127.0.0.1");
  EXPECT_NE(out.find("127.0.0.1"), std::string::npos) << out;
  EXPECT_EQ(out.find("error"), std::string::npos) << out;
}

}  // namespace
}  // namespace medrelay::server

// Interop with an independent ICE implementation: aioice (python3-aioice) as the controlling full
// agent connects to our ICE-lite UDP candidate, nominates, and exchanges data on the pair.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "media/worker_transport.h"
#include "tests/support/test_support.h"

namespace medrelay::media {
namespace {

// Echoes RTP back on the selected pair, prefixed with "echo:".
struct EchoSession : MediaSession, IceLite::Callbacks {
  WorkerTransport* transport = nullptr;
  IceLite* agent = nullptr;
  int rtp = 0;
  int connected = 0;
  int selectedChanges = 0;
  void onDtlsPacket(const net::TransportTuple&, uint8_t*, size_t) override {}
  void onRtcpPacket(const net::TransportTuple&, uint8_t*, size_t) override {}
  void onRtpPacket(const net::TransportTuple& from, uint8_t* d, size_t n) override {
    ++rtp;
    // Only the selected pair carries media.
    if (agent->selectedPair() == nullptr || !(*agent->selectedPair() == from)) return;
    uint8_t out[1500] = {'e', 'c', 'h', 'o', ':'};
    std::memcpy(out + 5, d, std::min<size_t>(n, sizeof(out) - 5));
    transport->send(from, out, 5 + n);
  }
  void onIceSelectedPairChanged(const net::TransportTuple&) override { ++selectedChanges; }
  void onIceConnected() override { ++connected; }
  void onIceConsentLost() override {}
};

TEST(IceAioiceInteropTest, AioiceConnectsToIceLiteOverUdpAndExchangesData) {
  if (!std::filesystem::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  net::DispatcherThread worker("worker");
  EchoSession session;
  std::unique_ptr<WorkerTransport> transport;
  std::unique_ptr<IceLite> agent;
  uint16_t port = 0;
  std::string ufrag, pwd;
  const std::string peerUfrag = "aioi", peerPwd = "aioicepasswordaioicepass";
  worker.runSync([&] {
    WorkerTransport::Config c;
    c.udp.push_back(*net::SocketAddress::parse("127.0.0.1:0"));
    transport = std::move(WorkerTransport::create(worker.dispatcher(), c).value());
    agent = std::make_unique<IceLite>(worker.dispatcher(), session);
    agent->setRemoteCredentials(peerUfrag, peerPwd);
    session.transport = transport.get();
    session.agent = agent.get();
    ASSERT_TRUE(transport->addSession(*agent, session));
    port = transport->udpSocket(0).localAddress().port();
    ufrag = agent->localUfrag();
    pwd = agent->localPassword();
  });

  const std::string cmd = "/usr/bin/python3 " + test::sourceDir() +
                          "/tests/e2e/ice_aioice_client.py " + std::to_string(port) + " '" + ufrag +
                          "' '" + pwd + "' " + peerUfrag + " " + peerPwd + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) output += buf;
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("CONNECTED"), std::string::npos) << output;
  EXPECT_NE(output.find("ECHO"), std::string::npos) << output;

  worker.runSync([&] {
    EXPECT_EQ(session.connected, 1);
    EXPECT_GE(session.selectedChanges, 1);
    EXPECT_GE(session.rtp, 1);
    ASSERT_NE(agent->selectedPair(), nullptr);
    EXPECT_EQ(agent->selectedPair()->remote.ipString(), "127.0.0.1");
    // aioice with a lite peer uses regular nomination: a check without USE-CANDIDATE first.
    EXPECT_GE(agent->counters().checksOk, 2u);
    EXPECT_EQ(transport->counters().dropped(WorkerTransport::Drop::kIceRejected), 0u);
    transport->removeSession(*agent);
    agent.reset();
    transport.reset();
  });
}

}  // namespace
}  // namespace medrelay::media

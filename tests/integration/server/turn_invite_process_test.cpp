// The real medrelay binary: TURN credentials are bound to an invite. A participant gets them
// from /ice-servers and in the WHIP answer's Link header; coturn's turnutils_uclient relays with
// them to an allow-listed peer; revoking the invite through the REST API shuts them out, also
// after a restart of the relay (docs/turn.md, "Across restarts").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"
#include "tests/support/turn_test_util.h"
#include "tests/support/turnutils.h"

namespace medrelay::test {
namespace {

using ::testing::HasSubstr;

uint16_t turnUdpPort(ServerProcess& server) {
  if (!server.waitForOutput("TURN listening: udp ")) return 0;
  std::smatch m;
  const std::string out = server.output();
  static const std::regex re("TURN listening: udp ([0-9]+)");
  if (!std::regex_search(out, m, re)) return 0;
  return static_cast<uint16_t>(std::stoi(m[1].str()));
}

// A TURN client on its own loopback UDP socket (one 5-tuple): Allocate and Refresh with REST
// credentials, answering with the response's status (200, or the STUN error code; 0: no
// answer).
class TurnUdpClient {
 public:
  TurnUdpClient(uint16_t server_port, const std::string& username, const std::string& password)
      : server_(*net::SocketAddress::fromIp("127.0.0.1", server_port)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto any = *net::SocketAddress::fromIp("127.0.0.1", 0);
    ::bind(fd_, any.sockaddrPtr(), any.sockaddrLength());
    client_.username = username;
    client_.password = password;
  }
  ~TurnUdpClient() { ::close(fd_); }
  TurnUdpClient(const TurnUdpClient&) = delete;
  TurnUdpClient& operator=(const TurnUdpClient&) = delete;

  // RFC 8656 §7.2: the first Allocate is answered 401 with a nonce, the second carries the
  // credentials.
  int allocate() {
    using namespace net::stun;
    auto challenge = exchange(client_.request(
        method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }, false));
    if (!challenge || !challenge->nonce()) return 0;
    client_.nonce = std::string(*challenge->nonce());
    return status(exchange(client_.request(
        method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); })));
  }
  int refresh() { return status(exchange(client_.request(net::stun::method::kRefresh, nullptr))); }

 private:
  std::optional<net::stun::StunMessage> exchange(const std::vector<uint8_t>& request) {
    ::sendto(fd_, request.data(), request.size(), 0, server_.sockaddrPtr(),
             server_.sockaddrLength());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) return std::nullopt;
    reply_.assign(4096, 0);
    const auto n = ::recv(fd_, reply_.data(), reply_.size(), 0);
    reply_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return net::stun::StunMessage::parse(reply_);
  }
  static int status(const std::optional<net::stun::StunMessage>& m) {
    if (!m) return 0;
    if (m->messageClass() == net::stun::MessageClass::kSuccessResponse) return 200;
    auto code = m->errorCode();
    return code ? code->code : -1;
  }

  net::SocketAddress server_;
  int fd_ = -1;
  medrelay::testing::TurnTestClient client_;
  std::vector<uint8_t> reply_;
};

TEST(TurnInviteProcessTest, CredentialsFollowTheInviteFromIssueToRevocation) {
  if (!haveTool("turnutils_uclient") || !haveTool("turnutils_peer")) {
    GTEST_SKIP() << "coturn client tools not installed (scripts/install-deps.sh test)";
  }
  TempDir dir;
  auto args = isolatedServerArgs(dir.str() + "/data");
  // The test's echo peer is on loopback: reachable only because it is allow-listed.
  args.insert(args.end(), {"--set", "turn.allow_peers=127.0.0.1/32"});
  ServerProcess server(dir, args);
  const uint16_t http = waitForHttpPort(server);
  ASSERT_NE(http, 0) << server.output();
  const uint16_t turn = turnUdpPort(server);
  ASSERT_NE(turn, 0) << server.output();

  ApiClient api(http, readApiKey(dir.path() / "data"));
  auto room = api.post("/v1/rooms", {{"mode", "d2p"},
                                     {"scheduled_start", "now"},
                                     {"institution_id", "clinic-1"},
                                     {"institution_contact", "03-0000-0000"},
                                     {"doctor_display_name", "Dr. Example"}});
  ASSERT_EQ(room.status, 201) << room.body;
  const std::string room_id = room.json()["id"];
  auto invite = api.post("/v1/rooms/" + room_id + "/invites",
                         {{"role", "patient"}, {"subject", "patient-7"}});
  ASSERT_EQ(invite.status, 201) << invite.body;
  const std::string invite_id = invite.json()["id"];
  const std::string token = invite.json()["token"];

  ApiClient participant(http, token);
  auto ice = participant.get("/v1/rooms/" + room_id + "/ice-servers");
  ASSERT_EQ(ice.status, 200) << ice.body;
  const auto server_entry = ice.json()["ice_servers"].at(0);
  const std::string username = server_entry["username"];
  const std::string credential = server_entry["credential"];
  EXPECT_THAT(username, HasSubstr(":" + invite_id));  // REST style: expiry:invite
  EXPECT_THAT(server_entry["urls"].dump(),
              HasSubstr("turn:127.0.0.1:" + std::to_string(turn) + "?transport=udp"));

  // The WHIP answer carries the same credentials as an RFC 9725 ice-server link.
  auto whip = participant.request("POST", "/v1/rooms/" + room_id + "/whip",
                                  readFile(sourceDir() + "/tests/data/sdp/aiortc_publish.sdp"),
                                  "application/sdp");
  ASSERT_EQ(whip.status, 201) << whip.body;
  const std::string link = whip.header("Link");
  EXPECT_THAT(link, HasSubstr("rel=\"ice-server\""));
  EXPECT_THAT(link, HasSubstr("username=\"" + username + "\""));
  EXPECT_THAT(link, HasSubstr("credential=\"" + credential + "\""));

  const uint16_t peer_port = freeUdpPort();
  Peer peer(peer_port);
  auto relay = [&] {
    return run("timeout 60 turnutils_uclient -u '" + username + "' -w '" + credential +
               "' -e 127.0.0.1 -r " + std::to_string(peer_port) + " -p " + std::to_string(turn) +
               " -n 20 -m 1 -l 120 -z 5 -c 127.0.0.1");
  };
  const std::string before = relay();
  const auto ok = parseSummary(before);
  EXPECT_EQ(ok.lost, 0) << before;
  EXPECT_GT(ok.sent, 0) << before;
  EXPECT_EQ(ok.received, ok.sent) << before;

  auto revoked = api.del("/v1/rooms/" + room_id + "/invites/" + invite_id);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  ASSERT_TRUE(server.waitForOutput("invite revoked")) << server.output();
  const std::string after = relay();
  EXPECT_LE(parseSummary(after).received, 0) << after;
}

// Server-side revocation survives a restart: credentials minted before it for a revoked invite,
// a cancelled room's invite and an ended consultation's invite are refused by the restarted
// relay (same data dir and config), while a live invite's credentials minted before the restart
// still allocate and relay.
TEST(TurnInviteProcessTest, RevocationOutlivesARestart) {
  if (!haveTool("turnutils_uclient") || !haveTool("turnutils_peer")) {
    GTEST_SKIP() << "coturn client tools not installed (scripts/install-deps.sh test)";
  }
  TempDir dir;
  auto args = isolatedServerArgs(dir.str() + "/data");
  args.insert(args.end(), {"--set", "turn.allow_peers=127.0.0.1/32"});
  auto server = std::make_unique<ServerProcess>(dir, args);
  uint16_t http = waitForHttpPort(*server);
  ASSERT_NE(http, 0) << server->output();
  uint16_t turn = turnUdpPort(*server);
  ASSERT_NE(turn, 0) << server->output();
  ApiClient api(http, readApiKey(dir.path() / "data"));

  struct Minted {
    std::string room, invite, token, username, credential;
  };
  auto mint = [&](const std::string& room, const std::string& role, const std::string& subject) {
    Minted m;
    m.room = room;
    auto inv = api.post("/v1/rooms/" + room + "/invites", {{"role", role}, {"subject", subject}});
    EXPECT_EQ(inv.status, 201) << inv.body;
    m.invite = inv.json().value("id", "");
    m.token = inv.json().value("token", "");
    auto ice = ApiClient(http, m.token).get("/v1/rooms/" + room + "/ice-servers");
    EXPECT_EQ(ice.status, 200) << ice.body;
    const auto entry = ice.json()["ice_servers"].at(0);
    m.username = entry["username"].get<std::string>();
    m.credential = entry["credential"].get<std::string>();
    return m;
  };
  auto newRoom = [&] {
    auto r = api.post("/v1/rooms", {{"mode", "d2p"},
                                    {"scheduled_start", "now"},
                                    {"institution_id", "clinic-1"},
                                    {"institution_contact", "03-0000-0000"},
                                    {"doctor_display_name", "Dr. Example"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  };
  const std::string room_a = newRoom();
  const Minted kept = mint(room_a, "doctor", "dr-1");
  const Minted revoked = mint(room_a, "patient", "pt-1");
  const std::string room_b = newRoom();
  const Minted cancelled = mint(room_b, "patient", "pt-2");
  const std::string room_c = newRoom();
  const Minted ended = mint(room_c, "patient", "pt-3");

  // Before: every one allocates. The revoked invite's allocation is torn down by the revoke.
  TurnUdpClient revoked_client(turn, revoked.username, revoked.credential);
  ASSERT_EQ(revoked_client.allocate(), 200);
  for (const Minted* m : {&kept, &cancelled, &ended}) {
    ASSERT_EQ(TurnUdpClient(turn, m->username, m->credential).allocate(), 200) << m->invite;
  }
  ASSERT_EQ(api.del("/v1/rooms/" + room_a + "/invites/" + revoked.invite).status, 200);
  ASSERT_EQ(api.del("/v1/rooms/" + room_b).status, 200);
  ASSERT_EQ(api.post("/v1/rooms/" + room_c + "/admit", nullptr).status, 200);
  ASSERT_EQ(api.post("/v1/rooms/" + room_c + "/end", nullptr).status, 200);
  ASSERT_TRUE(server->waitForOutput("invite revoked")) << server->output();
  EXPECT_EQ(revoked_client.refresh(), 401);  // its allocation is gone, its credentials refused
  EXPECT_EQ(TurnUdpClient(turn, revoked.username, revoked.credential).allocate(), 401);

  // Restart with the same data dir and settings.
  server->signal(SIGTERM);
  ASSERT_EQ(server->waitExit(milliseconds(10000)), 0) << server->output();
  server = std::make_unique<ServerProcess>(dir, args);
  http = waitForHttpPort(*server);
  ASSERT_NE(http, 0) << server->output();
  turn = turnUdpPort(*server);
  ASSERT_NE(turn, 0) << server->output();

  for (const Minted* m : {&revoked, &cancelled, &ended}) {
    EXPECT_EQ(TurnUdpClient(turn, m->username, m->credential).allocate(), 401) << m->invite;
  }
  EXPECT_EQ(TurnUdpClient(turn, kept.username, kept.credential).allocate(), 200);

  // The same through coturn's client: the live invite's credentials relay, the revoked one's
  // do not.
  const uint16_t peer_port = freeUdpPort();
  Peer peer(peer_port);
  auto relay = [&](const Minted& m) {
    return run("timeout 60 turnutils_uclient -u '" + m.username + "' -w '" + m.credential +
               "' -e 127.0.0.1 -r " + std::to_string(peer_port) + " -p " + std::to_string(turn) +
               " -n 20 -m 1 -l 120 -z 5 -c 127.0.0.1");
  };
  const std::string live_out = relay(kept);
  const auto live = parseSummary(live_out);
  EXPECT_GT(live.sent, 0) << live_out;
  EXPECT_EQ(live.received, live.sent) << live_out;
  const std::string dead_out = relay(revoked);
  EXPECT_LE(parseSummary(dead_out).received, 0) << dead_out;
}

}  // namespace
}  // namespace medrelay::test

// The real medrelay binary: TURN credentials are bound to an invite. A participant gets them
// from /ice-servers and in the WHIP answer's Link header; coturn's turnutils_uclient relays with
// them to an allow-listed peer; revoking the invite through the REST API shuts them out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"
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

}  // namespace
}  // namespace medrelay::test

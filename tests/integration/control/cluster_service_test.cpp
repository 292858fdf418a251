// The ConsultationService as a cluster member (docs/cluster.md): its real SQLite store and access
// log with a real ClusterNode on a real redis-server. Policy rule 3 across nodes through the
// doctor lease (refusal shape, the other room only in the access log, release at the last
// session's end) and fencing: a room placed on another node ends its sessions here with
// `superseded` records.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "control/cluster/cluster_node.h"
#include "control/cluster/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/unit/control/consultation_test_fixture.h"

namespace medrelay::control::cluster {
namespace {

using std::chrono::milliseconds;
using testutil::kHourUs;

class ClusterServiceTest : public testutil::ConsultationFixture {
 protected:
  struct Node {
    std::unique_ptr<RedisClient> redis;
    std::unique_ptr<ClusterNode> node;
  };

  void SetUp() override {
    ConsultationFixture::SetUp();
    a_ = makeNode("a");
    b_ = makeNode("b");
    ClusterNode::Callbacks cb;
    cb.room_active = [this](const std::string& room) { return svc_->roomHasSessions(room); };
    cb.doctor_live = [this](const std::string& subject, const std::string& room) {
      return svc_->doctorLiveIn(subject, room);
    };
    cb.superseded = [this](const std::string& room) {
      svc_->endRoomSessions(room, "superseded", [this](Result<void> r) { ended_ = r.ok(); });
    };
    a_.node->setCallbacks(cb);
    svc_->setClusterRules(a_.node.get());
    ASSERT_TRUE(run([&] { return a_.redis->up() && b_.redis->up(); }));
    beat(a_);
    beat(b_);
  }
  void TearDown() override {
    svc_->setClusterRules(nullptr);
    a_ = {};
    b_ = {};
    ConsultationFixture::TearDown();
  }

  Node makeNode(const std::string& id) {
    Node n;
    RedisClientOptions ro;
    ro.address = RedisAddress::parse(redis_.address()).value();
    ro.command_timeout = milliseconds(300);
    n.redis = std::make_unique<RedisClient>(dispatcher_, ro);
    n.redis->start();
    ClusterNodeOptions no;
    no.node_id = id;
    no.public_url = "http://" + id + ".test";
    no.key_prefix = "svc";
    no.alive_ttl = milliseconds(400);
    no.heartbeat = milliseconds(100);
    no.lease_ttl = milliseconds(2000);
    no.home_only = false;
    n.node = std::make_unique<ClusterNode>(dispatcher_, *n.redis, no, nullptr);
    return n;
  }

  bool run(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      spin(5);
    }
    return true;
  }
  void beat(Node& n) {
    std::optional<bool> ok;
    n.node->beat([&](bool r) { ok = r; });
    ASSERT_TRUE(run([&] { return ok.has_value(); }));
    ASSERT_TRUE(*ok);
  }
  std::string lease(const std::string& subject) {
    return redis_.command({"GET", "{svc}:doctor:" + subject});
  }

  test::RedisServer redis_;
  Node a_;
  Node b_;
  std::optional<bool> ended_;
};

TEST_F(ClusterServiceTest, ADoctorLiveOnAnotherNodeIsBusyAndOnlyTheLogNamesTheRoom) {
  Room room = createRoom(RoomMode::kD2P);
  const std::string doctor = token(room, Role::kDoctor, "dr-1");
  // Node b's room holds the doctor's lease.
  std::optional<bool> won;
  b_.node->acquireDoctor("dr-1", "rm_elsewhere",
                         [&](Result<void> r, const std::string&) { won = r.ok(); });
  ASSERT_TRUE(run([&] { return won.has_value(); }));
  ASSERT_TRUE(*won);

  auto refused = authorize(doctor, room.id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "doctor_busy");
  EXPECT_EQ(refused.error().message.find("rm_elsewhere"), std::string::npos);
  auto records = recordsOf(AccessEvent::kJoinRefused, room.id);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].reason, "doctor_busy");
  EXPECT_EQ(records[0].detail.value("other_room", ""), "rm_elsewhere");

  // Once b's room lets go, the doctor joins here and holds the lease until the session ends.
  b_.node->releaseDoctor("dr-1", "rm_elsewhere");
  ASSERT_TRUE(run([&] { return lease("dr-1") == "(nil)"; }));
  auto session = join(doctor, room.id);
  ASSERT_TRUE(session.ok()) << session.error().code;
  EXPECT_EQ(lease("dr-1").rfind(room.id + "|a|", 0), 0u) << lease("dr-1");
  ASSERT_TRUE(leave(session->id).ok());
  EXPECT_TRUE(run([&] { return lease("dr-1") == "(nil)"; }));
}

TEST_F(ClusterServiceTest, TheStoreUnreachableRefusesDoctorJoinsWith503) {
  Room room = createRoom(RoomMode::kD2P);
  const std::string doctor = token(room, Role::kDoctor, "dr-2");
  const std::string patient = token(room, Role::kPatient, "pt-2");
  redis_.kill();
  ASSERT_TRUE(run([&] { return !a_.redis->up(); }));
  auto refused = authorize(doctor, room.id);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "cluster_unavailable");
  EXPECT_EQ(policyStatus("cluster_unavailable"), 503);
  // The patient's seat needs no lease: the service itself does not ask Redis for it.
  EXPECT_TRUE(join(patient, room.id).ok());
}

TEST_F(ClusterServiceTest, ARoomPlacedElsewhereEndsItsSessionsHereAsSuperseded) {
  Room room = createRoom(RoomMode::kD2P);
  auto doctor = join(token(room, Role::kDoctor, "dr-3"), room.id);
  auto patient = join(token(room, Role::kPatient, "pt-3"), room.id);
  ASSERT_TRUE(doctor.ok() && patient.ok());
  std::optional<Result<Placement>> placed;
  a_.node->placeRoom(room.id, true, [&](Result<Placement> p) { placed = std::move(p); });
  ASSERT_TRUE(run([&] { return placed.has_value(); }));
  ASSERT_TRUE(placed->ok() && (*placed)->local);

  // Node a stalls past its alive TTL (no heartbeat); node b takes the room (epoch 2).
  b_.node->start();
  ASSERT_TRUE(run([&] { return redis_.command({"EXISTS", "{svc}:alive:a"}) == "0"; }));
  placed.reset();
  b_.node->placeRoom(room.id, false, [&](Result<Placement> p) { placed = std::move(p); });
  ASSERT_TRUE(run([&] { return placed.has_value(); }));
  ASSERT_TRUE(placed->ok());
  EXPECT_EQ((*placed)->node, "b");
  EXPECT_EQ((*placed)->epoch, 2);

  // Node a comes back: its heartbeat fences the room, every session here ends `superseded`.
  beat(a_);
  ASSERT_TRUE(run([&] { return ended_.has_value(); }));
  EXPECT_TRUE(*ended_);
  auto left = recordsOf(AccessEvent::kParticipantLeft, room.id);
  ASSERT_EQ(left.size(), 2u);
  for (const auto& r : left) EXPECT_EQ(r.reason, "superseded");
  EXPECT_EQ(terminator_.ended.size(), 2u);
  EXPECT_FALSE(svc_->roomHasSessions(room.id));
  EXPECT_TRUE(verify().ok());
  (void)kHourUs;
}

}  // namespace
}  // namespace medrelay::control::cluster

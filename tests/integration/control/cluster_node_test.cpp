// The cluster's Redis layer against a real redis-server (docs/cluster.md): the async client on a
// libuv loop, the registry and liveness by Redis TTL, placement by region then load, fencing by
// epoch, and the doctor lease — several ClusterNodes in one process, each with its own Redis
// connection, as separate nodes would have.
#include "control/cluster/cluster_node.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/cluster/redis_client.h"
#include "net/dispatcher.h"
#include "tests/support/dtls_test_pipe.h"
#include "tests/support/redis_server.h"

namespace medrelay::control::cluster {
namespace {

using std::chrono::milliseconds;

class ClusterNodeTest : public ::testing::Test {
 protected:
  struct Member {
    std::unique_ptr<RedisClient> redis;
    std::unique_ptr<ClusterNode> node;
    std::vector<std::string> superseded;
    std::set<std::string> active;  // rooms with sessions
  };

  Member& addNode(const std::string& id, const std::string& region, uint32_t load = 0,
                  bool home_only = false) {
    auto m = std::make_unique<Member>();
    RedisClientOptions ro;
    ro.address = RedisAddress::parse(redis_.address()).value();
    ro.command_timeout = milliseconds(300);
    ro.reconnect_min = milliseconds(20);
    ro.reconnect_max = milliseconds(100);
    m->redis = std::make_unique<RedisClient>(d_, ro);
    m->redis->start();
    ClusterNodeOptions no;
    no.node_id = id;
    no.public_url = "http://" + id + ".test:8080";
    no.region = region;
    no.capacity = 100;
    no.key_prefix = prefix_;
    no.alive_ttl = milliseconds(400);
    no.heartbeat = milliseconds(100);
    no.lease_ttl = milliseconds(1000);
    no.home_only = home_only;
    m->node = std::make_unique<ClusterNode>(d_, *m->redis, no, nullptr);
    Member* raw = m.get();
    ClusterNode::Callbacks cb;
    cb.load = [load] { return load; };
    cb.room_active = [raw](const std::string& room) { return raw->active.count(room) > 0; };
    cb.doctor_live = [](const std::string&, const std::string&) { return true; };
    cb.superseded = [raw](const std::string& room) { raw->superseded.push_back(room); };
    m->node->setCallbacks(cb);
    members_.push_back(std::move(m));
    return *raw;
  }

  bool run(const std::function<bool()>& pred, milliseconds timeout = milliseconds(5000)) {
    return test::runUntil(d_, pred, timeout);
  }

  // Connects every member and runs one heartbeat each.
  void beatAll() {
    ASSERT_TRUE(run([&] {
      for (auto& m : members_)
        if (!m->redis->up()) return false;
      return true;
    }));
    for (auto& m : members_) {
      std::optional<bool> ok;
      m->node->beat([&](bool r) { ok = r; });
      ASSERT_TRUE(run([&] { return ok.has_value(); }));
      ASSERT_TRUE(*ok);
    }
  }

  Placement place(Member& m, const std::string& room, bool local = false) {
    std::optional<Result<Placement>> got;
    m.node->placeRoom(room, local, [&](Result<Placement> p) { got = std::move(p); });
    EXPECT_TRUE(run([&] { return got.has_value(); }));
    EXPECT_TRUE(got->ok()) << got->error().message;
    return got->ok() ? got->value() : Placement{};
  }

  std::string key(const std::string& rest) const { return "{" + prefix_ + "}:" + rest; }

  test::RedisServer redis_;
  net::Dispatcher d_{"control"};
  std::string prefix_ = "t" + std::to_string(::getpid());
  std::vector<std::unique_ptr<Member>> members_;
};

TEST_F(ClusterNodeTest, ClientRunsCommandsAndReloadsAFlushedScript) {
  Member& a = addNode("a", "eu");
  ASSERT_TRUE(run([&] { return a.redis->up(); }));
  std::optional<Result<RedisReply>> r;
  a.redis->command({"SET", key("x"), "1"}, [&](Result<RedisReply> x) { r = std::move(x); });
  ASSERT_TRUE(run([&] { return r.has_value(); }));
  ASSERT_TRUE(r->ok());
  EXPECT_EQ((*r)->str, "OK");
  // An error reply is a redis_error, not a dropped connection.
  r.reset();
  a.redis->command({"INCR", key("nokey"), "extra"},
                   [&](Result<RedisReply> x) { r = std::move(x); });
  ASSERT_TRUE(run([&] { return r.has_value(); }));
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->error().code, "redis_error");
  EXPECT_TRUE(a.redis->up());
  // EVALSHA after SCRIPT FLUSH (a restarted Redis) falls back to EVAL.
  ASSERT_EQ(redis_.command({"SCRIPT", "FLUSH"}), "OK");
  RedisScript script("return ARGV[1] .. KEYS[1]");
  r.reset();
  a.redis->eval(script, {"k"}, {"v"}, [&](Result<RedisReply> x) { r = std::move(x); });
  ASSERT_TRUE(run([&] { return r.has_value(); }));
  ASSERT_TRUE(r->ok()) << r->error().message;
  EXPECT_EQ((*r)->str, "vk");
}

TEST_F(ClusterNodeTest, RegistryLivesByRedisTtl) {
  Member& a = addNode("a", "eu");
  beatAll();
  EXPECT_EQ(redis_.command({"HGET", key("node:a"), "state"}), "serving");
  EXPECT_EQ(redis_.command({"GET", key("alive:a")}), a.node->options().boot_id);
  const auto ttl = std::stoi(redis_.command({"PTTL", key("alive:a")}));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 400);
  EXPECT_TRUE(a.node->ready());
  // Draining shows in the registry.
  a.node->setDraining(true);
  ASSERT_TRUE(run([&] { return redis_.command({"HGET", key("node:a"), "state"}) == "draining"; }));
  // A second process with the same node id (another boot id) is refused, not merged.
  Member& twin = addNode("a", "eu");
  ASSERT_TRUE(run([&] { return twin.redis->up(); }));
  std::optional<bool> ok;
  twin.node->beat([&](bool r) { ok = r; });
  ASSERT_TRUE(run([&] { return ok.has_value(); }));
  EXPECT_FALSE(twin.node->ready());
  EXPECT_EQ(redis_.command({"GET", key("alive:a")}), a.node->options().boot_id);
}

TEST_F(ClusterNodeTest, PlacementPrefersTheRequestersRegionThenTheLeastLoaded) {
  Member& a = addNode("a", "eu", 50);
  Member& b = addNode("b", "eu", 10);
  Member& c = addNode("c", "us", 0);
  beatAll();
  // From an eu node: the least loaded eu node, though c (us) is idle.
  Placement p = place(a, "room-1");
  EXPECT_EQ(p.outcome, Placement::Outcome::kPlaced);
  EXPECT_EQ(p.node, "b");
  EXPECT_EQ(p.url, "http://b.test:8080");
  EXPECT_EQ(p.epoch, 1);
  EXPECT_FALSE(p.local);
  // The owner is kept whoever asks.
  p = place(c, "room-1");
  EXPECT_EQ(p.outcome, Placement::Outcome::kKept);
  EXPECT_EQ(p.node, "b");
  // From a us node: c.
  p = place(c, "room-2");
  EXPECT_EQ(p.node, "c");
  EXPECT_TRUE(p.local);
  EXPECT_EQ(c.node->heldRooms().at("room-2"), 1);
  // A draining node gets no new room.
  b.node->setDraining(true);
  ASSERT_TRUE(run([&] { return redis_.command({"HGET", key("node:b"), "state"}) == "draining"; }));
  p = place(a, "room-3");
  EXPECT_EQ(p.node, "a");
}

TEST_F(ClusterNodeTest, StepOneRoomsStayOnTheirHomeNode) {
  Member& a = addNode("a", "eu", 90, true);
  Member& b = addNode("b", "eu", 0, true);
  beatAll();
  // Unknown to the cluster: the asking node cannot place it.
  EXPECT_EQ(place(b, "room-x").outcome, Placement::Outcome::kUnknown);
  // Created on a (its records are there): placed on a even though b is idle.
  std::optional<bool> done;
  a.node->roomCreated("room-x", [&] { done = true; });
  ASSERT_TRUE(run([&] { return done.has_value(); }));
  Placement p = place(b, "room-x");
  EXPECT_EQ(p.outcome, Placement::Outcome::kPlaced);
  EXPECT_EQ(p.node, "a");
  EXPECT_FALSE(p.local);
}

TEST_F(ClusterNodeTest, AStalledOwnerLosesItsRoomAndLearnsItFromItsHeartbeat) {
  Member& a = addNode("a", "eu", 0);
  Member& b = addNode("b", "eu", 50);
  beatAll();
  Placement p = place(a, "room-1");
  ASSERT_EQ(p.node, "a");
  a.active.insert("room-1");
  // a stalls (no heartbeat: as under SIGSTOP); b keeps beating. Liveness is Redis's TTL.
  b.node->start();
  ASSERT_TRUE(run([&] { return redis_.command({"EXISTS", key("alive:a")}) == "0"; }));
  p = place(b, "room-1");
  EXPECT_EQ(p.outcome, Placement::Outcome::kReassigned);
  EXPECT_EQ(p.node, "b");
  EXPECT_EQ(p.epoch, 2);
  // a comes back: its heartbeat says the room moved (fencing), and it drops it.
  std::optional<bool> ok;
  a.node->beat([&](bool r) { ok = r; });
  ASSERT_TRUE(run([&] { return ok.has_value(); }));
  EXPECT_EQ(a.superseded, std::vector<std::string>{"room-1"});
  EXPECT_EQ(a.node->heldRooms().count("room-1"), 0u);
  EXPECT_TRUE(b.superseded.empty());
}

TEST_F(ClusterNodeTest, ConcurrentGoLiveOfOneDoctorHasExactlyOneWinner) {
  Member& a = addNode("a", "eu");
  Member& b = addNode("b", "eu");
  beatAll();
  for (int round = 0; round < 100; ++round) {
    std::optional<bool> wonA;
    std::optional<bool> wonB;
    std::string otherA;
    std::string otherB;
    // Both scripts are in flight at once, on two connections.
    a.node->acquireDoctor("dr-1", "room-a", [&](Result<void> r, const std::string& other) {
      wonA = r.ok();
      otherA = other;
    });
    b.node->acquireDoctor("dr-1", "room-b", [&](Result<void> r, const std::string& other) {
      wonB = r.ok();
      otherB = other;
    });
    ASSERT_TRUE(run([&] { return wonA.has_value() && wonB.has_value(); }));
    ASSERT_NE(*wonA, *wonB) << "round " << round;
    EXPECT_EQ(*wonA ? otherB : otherA, *wonA ? "room-a" : "room-b");
    // The winner releases; the key is gone before the next round.
    if (*wonA) {
      a.node->releaseDoctor("dr-1", "room-a");
    } else {
      b.node->releaseDoctor("dr-1", "room-b");
    }
    ASSERT_TRUE(run([&] { return redis_.command({"EXISTS", key("doctor:dr-1")}) == "0"; }));
  }
}

TEST_F(ClusterNodeTest, ALeaseOfADeadNodeIsTakenOverAndTheStalledHolderLosesIt) {
  Member& a = addNode("a", "eu");
  Member& b = addNode("b", "eu");
  beatAll();
  std::optional<bool> won;
  a.node->acquireDoctor("dr-2", "room-a",
                        [&](Result<void> r, const std::string&) { won = r.ok(); });
  ASSERT_TRUE(run([&] { return won.has_value(); }));
  ASSERT_TRUE(*won);
  // While a lives, b is refused.
  won.reset();
  b.node->acquireDoctor("dr-2", "room-b",
                        [&](Result<void> r, const std::string&) { won = r.ok(); });
  ASSERT_TRUE(run([&] { return won.has_value(); }));
  EXPECT_FALSE(*won);
  // a stalls past its alive TTL: b takes the lease over.
  ASSERT_TRUE(run([&] { return redis_.command({"EXISTS", key("alive:a")}) == "0"; }));
  won.reset();
  b.node->acquireDoctor("dr-2", "room-b",
                        [&](Result<void> r, const std::string&) { won = r.ok(); });
  ASSERT_TRUE(run([&] { return won.has_value(); }));
  EXPECT_TRUE(*won);
  // a's next beat reports the lease lost.
  std::vector<std::pair<std::string, std::string>> lost;
  ClusterNode::Callbacks cb;
  cb.doctor_live = [](const std::string&, const std::string&) { return true; };
  cb.lease_lost = [&](const std::string& s, const std::string& r) { lost.emplace_back(s, r); };
  a.node->setCallbacks(cb);
  std::optional<bool> ok;
  a.node->beat([&](bool r) { ok = r; });
  ASSERT_TRUE(run([&] { return ok.has_value(); }));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], std::make_pair(std::string("dr-2"), std::string("room-a")));
}

TEST_F(ClusterNodeTest, StoreOutageFailsFastAndTheNodeReregistersAfter) {
  Member& a = addNode("a", "eu");
  beatAll();
  Placement p = place(a, "room-1");
  ASSERT_TRUE(p.local);
  a.active.insert("room-1");
  redis_.kill();
  ASSERT_TRUE(run([&] { return !a.redis->up(); }));
  std::optional<Result<Placement>> got;
  const auto t0 = std::chrono::steady_clock::now();
  a.node->placeRoom("room-2", true, [&](Result<Placement> r) { got = std::move(r); });
  ASSERT_TRUE(run([&] { return got.has_value(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(100));
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code, kClusterUnavailable);
  a.node->start();
  ASSERT_TRUE(run([&] { return !a.node->ready(); }));
  // Redis comes back empty: the node registers again and records its room again.
  ASSERT_TRUE(redis_.start());
  ASSERT_TRUE(run([&] { return a.node->ready(); }));
  ASSERT_TRUE(run([&] { return redis_.command({"HGET", key("room:room-1"), "node"}) == "a"; }));
  EXPECT_TRUE(a.superseded.empty());
  EXPECT_EQ(place(a, "room-1").outcome, Placement::Outcome::kKept);
}

}  // namespace
}  // namespace medrelay::control::cluster

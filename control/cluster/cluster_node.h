#pragma once
// This process as a member of a cluster (docs/cluster.md): its registry entry and liveness in
// Redis, the rooms it serves and their epochs (fencing), the doctor leases it holds (policy rule
// 3 across nodes), and room placement. Every decision is one of control/cluster/
// cluster_scripts.h's Lua scripts; liveness is Redis's TTL, never a node's clock. Control thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "control/cluster/cluster_scripts.h"
#include "control/cluster/redis_client.h"
#include "control/cluster_rules.h"
#include "control/metrics/cluster_metrics.h"
#include "net/dispatcher.h"

namespace medrelay::control::cluster {

struct ClusterNodeOptions {
  std::string node_id;
  std::string boot_id;     // empty: random, made at construction (one per process)
  std::string public_url;  // "https://relay-1.example:8443": what other nodes redirect to
  std::string region = "default";
  uint32_t capacity = 1000;  // sessions; load / capacity ranks nodes at placement
  std::string key_prefix = "mr";
  std::chrono::milliseconds alive_ttl{5000};
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds lease_ttl{15000};
  std::chrono::milliseconds room_ttl{std::chrono::hours(24 * 32)};  // beyond the longest window
  // Step 1 (docs/cluster.md "What is shared"): a room's records stay on the node that created
  // it, so only that node may serve it.
  bool home_only = true;
};

struct Placement {
  enum class Outcome : uint8_t { kKept, kPlaced, kReassigned, kUnknown, kNoNode };
  Outcome outcome = Outcome::kUnknown;
  std::string node;
  std::string url;  // the owner's public URL
  int64_t epoch = 0;
  bool local = false;  // this process owns the room now
};

class ClusterNode final : public ClusterRules {
 public:
  template <typename T>
  using Done = std::function<void(Result<T>)>;

  // What the node asks the rest of the process (control thread).
  struct Callbacks {
    // Live sessions on this node (the registry's load).
    std::function<uint32_t()> load;
    // Whether this node still has sessions in the room (rooms without are no longer fenced).
    std::function<bool(const std::string& room)> room_active;
    // Whether the subject still has a doctor-seat session in the room on this node.
    std::function<bool(const std::string& subject, const std::string& room)> doctor_live;
    // The room was placed elsewhere: end its sessions here (reason superseded).
    std::function<void(const std::string& room)> superseded;
    // The rooms whose records this node holds (its home rooms), registered again whenever the
    // node (re)registers: Redis may have come back empty.
    std::function<std::vector<std::string>()> home_rooms;
    // The subject's lease for `room` is held by another room now: end its sessions here.
    std::function<void(const std::string& subject, const std::string& room)> lease_lost;
  };

  ClusterNode(net::Dispatcher& dispatcher, RedisClient& redis, ClusterNodeOptions options,
              metrics::ClusterMetrics* metrics);
  ~ClusterNode() override;
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  void setCallbacks(Callbacks callbacks) { callbacks_ = std::move(callbacks); }
  // Beats at once, then every options.heartbeat.
  void start();
  // Stops beating and, if Redis answers, deletes the alive key (the node left on purpose).
  void stop(std::function<void()> done);
  // Draining: no new rooms are placed here (the next beat says so).
  void setDraining(bool draining);

  // Registered, and the last heartbeat answered within the alive TTL.
  bool ready() const;
  const ClusterNodeOptions& options() const { return options_; }

  // Where the room is served: keeps a live owner, else places it (docs/cluster.md). `local`: this
  // node holds the room's records (it may become its home). Errors: cluster_unavailable.
  void placeRoom(const std::string& roomId, bool localRecords, Done<Placement> done);
  // Runs one heartbeat now (tests; also start()). `done` is told whether Redis answered.
  void beat(std::function<void(bool ok)> done = {});

  // ClusterRules.
  void acquireDoctor(const std::string& subject, const std::string& roomId,
                     LeaseDone done) override;
  void releaseDoctor(const std::string& subject, const std::string& roomId) override;
  void roomCreated(const std::string& roomId, std::function<void()> done) override;

  // Tests: the rooms this node serves with their epochs.
  std::map<std::string, int64_t> heldRooms() const;

 private:
  struct HeldRoom {
    int64_t epoch = 0;
    std::chrono::steady_clock::time_point since;
  };
  struct HeldLease {
    std::string room_id;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<std::string> keys() const { return {"{" + options_.key_prefix + "}:"}; }
  void onBeat(const RedisReply& reply);
  // Rooms and leases nobody uses any more are forgotten (leases released) before a beat.
  void prune();

  RedisClient& redis_;
  ClusterNodeOptions options_;
  metrics::ClusterMetrics* metrics_;
  Callbacks callbacks_;
  RedisScript heartbeat_{scripts::kHeartbeat};
  RedisScript leave_{scripts::kLeave};
  RedisScript registerRoom_{scripts::kRegisterRoom};
  RedisScript placeRoom_{scripts::kPlaceRoom};
  RedisScript acquireDoctor_{scripts::kAcquireDoctor};
  RedisScript releaseDoctor_{scripts::kReleaseDoctor};
  std::map<std::string, HeldRoom> rooms_;
  std::map<std::string, HeldLease> leases_;  // subject → room
  bool draining_ = false;
  bool beating_ = false;  // a heartbeat is in flight
  bool conflict_ = false;
  bool registered_ = false;  // the last heartbeat answered (home rooms registered since)
  std::chrono::steady_clock::time_point lastBeat_{};
  net::Timer timer_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace medrelay::control::cluster

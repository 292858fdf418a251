#include "control/cluster/cluster_node.h"

#include <vector>

#include "common/logging.h"
#include "control/invite_token.h"

namespace medrelay::control::cluster {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("cluster");
}

std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

// A room just placed may not have its session yet (the join is being set up): kept this long.
constexpr std::chrono::seconds kRoomGrace{10};

Placement::Outcome parseOutcome(const std::string& s) {
  if (s == "kept") return Placement::Outcome::kKept;
  if (s == "placed") return Placement::Outcome::kPlaced;
  if (s == "reassigned") return Placement::Outcome::kReassigned;
  if (s == "no_node") return Placement::Outcome::kNoNode;
  return Placement::Outcome::kUnknown;
}

metrics::ClusterPlacement placementLabel(Placement::Outcome o) {
  switch (o) {
    case Placement::Outcome::kKept:
      return metrics::ClusterPlacement::kKept;
    case Placement::Outcome::kPlaced:
      return metrics::ClusterPlacement::kPlaced;
    case Placement::Outcome::kReassigned:
      return metrics::ClusterPlacement::kReassigned;
    case Placement::Outcome::kNoNode:
      return metrics::ClusterPlacement::kNoNode;
    case Placement::Outcome::kUnknown:
      break;
  }
  return metrics::ClusterPlacement::kUnknown;
}

}  // namespace

ClusterNode::ClusterNode(net::Dispatcher& dispatcher, RedisClient& redis,
                         ClusterNodeOptions options, metrics::ClusterMetrics* metrics)
    : redis_(redis),
      options_(std::move(options)),
      metrics_(metrics),
      timer_(dispatcher, [this] { beat(); }) {
  if (options_.boot_id.empty()) options_.boot_id = newId("boot_");
}

ClusterNode::~ClusterNode() {
  timer_.stop();
}

void ClusterNode::start() {
  beat();
  timer_.start(options_.heartbeat, options_.heartbeat);
}

void ClusterNode::stop(std::function<void()> done) {
  timer_.stop();
  redis_.eval(leave_, keys(), {options_.node_id, options_.boot_id},
              [done = std::move(done)](const Result<RedisReply>&) {
                if (done) done();
              });
}

void ClusterNode::setDraining(bool draining) {
  draining_ = draining;
  beat();
}

bool ClusterNode::ready() const {
  return redis_.up() && !conflict_ && lastBeat_.time_since_epoch().count() != 0 &&
         std::chrono::steady_clock::now() - lastBeat_ < options_.alive_ttl;
}

std::map<std::string, int64_t> ClusterNode::heldRooms() const {
  std::map<std::string, int64_t> out;
  for (const auto& [id, r] : rooms_) out[id] = r.epoch;
  return out;
}

void ClusterNode::prune() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = rooms_.begin(); it != rooms_.end();) {
    const bool active = callbacks_.room_active && callbacks_.room_active(it->first);
    if (!active && now - it->second.since > kRoomGrace) {
      it = rooms_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<std::pair<std::string, std::string>> release;
  for (const auto& [subject, lease] : leases_) {
    const bool live = callbacks_.doctor_live && callbacks_.doctor_live(subject, lease.room_id);
    if (!live && now - lease.since > kRoomGrace) release.emplace_back(subject, lease.room_id);
  }
  for (const auto& [subject, room] : release) releaseDoctor(subject, room);
}

void ClusterNode::beat(std::function<void(bool)> done) {
  if (beating_) {
    if (done) done(false);
    return;
  }
  prune();
  beating_ = true;
  std::vector<std::string> args = {options_.node_id,
                                   options_.boot_id,
                                   ms(options_.alive_ttl),
                                   draining_ ? "draining" : "serving",
                                   options_.region,
                                   options_.public_url,
                                   std::to_string(options_.capacity),
                                   std::to_string(callbacks_.load ? callbacks_.load() : 0),
                                   ms(options_.lease_ttl),
                                   std::to_string(rooms_.size())};
  for (const auto& [id, r] : rooms_) {
    args.push_back(id);
    args.push_back(std::to_string(r.epoch));
  }
  args.push_back(std::to_string(leases_.size()));
  for (const auto& [subject, lease] : leases_) {
    args.push_back(subject);
    args.push_back(lease.room_id);
  }
  std::weak_ptr<char> alive = alive_;
  redis_.eval(heartbeat_, keys(), args,
              [this, alive, done = std::move(done)](Result<RedisReply> r) {
                if (alive.expired()) return;
                beating_ = false;
                if (!r.ok()) {
                  MR_LOG_DEBUG(logger(), "heartbeat: {}", r.error().message);
                  registered_ = false;
                } else {
                  onBeat(*r);
                }
                if (done) done(r.ok());
              });
}

void ClusterNode::onBeat(const RedisReply& reply) {
  if (reply.elements.size() < 6) return;
  if (reply.elements[0].str == "conflict") {
    if (!conflict_) {
      MR_LOG_ERROR(logger(),
                   "node id {} is alive in another process (another boot id): not serving; "
                   "give every node its own node.id",
                   options_.node_id);
    }
    conflict_ = true;
    registered_ = false;
    return;
  }
  conflict_ = false;
  lastBeat_ = std::chrono::steady_clock::now();
  if (!registered_) {
    // First beat since start or since the store was unreachable: Redis may have lost the rooms
    // whose records are here; recording them again is idempotent (HSETNX).
    registered_ = true;
    if (callbacks_.home_rooms) {
      for (const auto& room : callbacks_.home_rooms()) roomCreated(room, [] {});
    }
  }
  for (const auto& e : reply.elements[1].elements) {
    const std::string& room = e.str;
    if (rooms_.erase(room) == 0) continue;
    MR_LOG_WARN(logger(), "room {} was placed on another node: ending its sessions here", room);
    // Leases for the room stay with the room's new node; forget ours without touching Redis.
    for (auto it = leases_.begin(); it != leases_.end();) {
      it = it->second.room_id == room ? leases_.erase(it) : std::next(it);
    }
    if (callbacks_.superseded) callbacks_.superseded(room);
  }
  const auto& lost = reply.elements[2].elements;
  for (size_t i = 0; i + 1 < lost.size(); i += 2) {
    auto it = leases_.find(lost[i].str);
    if (it == leases_.end()) continue;
    const std::string room = it->second.room_id;
    leases_.erase(it);
    if (metrics_) metrics_->leaseConflict(metrics::LeaseConflict::kLost);
    MR_LOG_WARN(logger(), "a doctor lease of room {} is held elsewhere now: ending its sessions",
                room);
    if (callbacks_.lease_lost) callbacks_.lease_lost(lost[i].str, room);
  }
  if (metrics_) {
    metrics_->setNodes(static_cast<double>(reply.elements[3].asInt()),
                       static_cast<double>(reply.elements[4].asInt()),
                       static_cast<double>(reply.elements[5].asInt()));
  }
}

void ClusterNode::placeRoom(const std::string& roomId, bool localRecords, Done<Placement> done) {
  std::weak_ptr<char> alive = alive_;
  redis_.eval(placeRoom_, keys(),
              {roomId, options_.node_id, options_.region, localRecords ? options_.node_id : "",
               options_.home_only ? "1" : "0", ms(options_.room_ttl)},
              [this, alive, roomId, done = std::move(done)](Result<RedisReply> r) {
                if (alive.expired()) return;
                if (!r.ok() || r->elements.size() < 4) {
                  if (metrics_) metrics_->placement(metrics::ClusterPlacement::kUnavailable);
                  if (r.ok()) {
                    return done(makeError(kClusterUnavailable, "unexpected placement reply"));
                  }
                  return done(r.error());
                }
                Placement p;
                p.outcome = parseOutcome(r->elements[0].str);
                p.node = r->elements[1].str;
                p.epoch = r->elements[2].asInt();
                p.url = r->elements[3].str;
                p.local = !p.node.empty() && p.node == options_.node_id &&
                          p.outcome != Placement::Outcome::kNoNode &&
                          p.outcome != Placement::Outcome::kUnknown;
                if (metrics_) metrics_->placement(placementLabel(p.outcome));
                if (p.local) {
                  auto& held = rooms_[roomId];
                  held.epoch = p.epoch;
                  held.since = std::chrono::steady_clock::now();
                }
                done(std::move(p));
              });
}

void ClusterNode::acquireDoctor(const std::string& subject, const std::string& roomId,
                                LeaseDone done) {
  std::weak_ptr<char> alive = alive_;
  redis_.eval(acquireDoctor_, keys(),
              {subject, roomId, options_.node_id, options_.boot_id, ms(options_.lease_ttl)},
              [this, alive, subject, roomId, done = std::move(done)](Result<RedisReply> r) {
                if (alive.expired()) return;
                if (!r.ok()) return done(r.error(), "");
                if (r->elements.size() < 2) {
                  return done(makeError(kClusterUnavailable, "unexpected lease reply"), "");
                }
                if (r->elements[0].asInt() == 1) {
                  leases_[subject] = HeldLease{roomId, std::chrono::steady_clock::now()};
                  return done(Result<void>(), "");
                }
                if (metrics_) metrics_->leaseConflict(metrics::LeaseConflict::kRefused);
                done(makeError("doctor_busy",
                               "this doctor is connected to another consultation; leave it first"),
                     r->elements[1].str);
              });
}

void ClusterNode::releaseDoctor(const std::string& subject, const std::string& roomId) {
  auto it = leases_.find(subject);
  if (it == leases_.end() || it->second.room_id != roomId) return;
  leases_.erase(it);
  redis_.eval(releaseDoctor_, keys(), {subject, roomId, options_.node_id, options_.boot_id},
              [roomId](const Result<RedisReply>& r) {
                // Not released (store down): the lease expires after its TTL.
                if (!r.ok()) MR_LOG_DEBUG(logger(), "lease release: {}", r.error().message);
              });
}

void ClusterNode::roomCreated(const std::string& roomId, std::function<void()> done) {
  redis_.eval(registerRoom_, keys(), {roomId, options_.node_id, ms(options_.room_ttl)},
              [roomId, done = std::move(done)](const Result<RedisReply>& r) {
                if (!r.ok()) {
                  MR_LOG_WARN(logger(), "room {} not registered in the cluster store: {}", roomId,
                              r.error().message);
                }
                done();
              });
}

}  // namespace medrelay::control::cluster

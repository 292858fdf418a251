#include "server/cluster_component.h"

#include <fstream>
#include <iterator>

#include "common/logging.h"

namespace medrelay::server {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("cluster");
}

// The whole file: any bytes make a secret, at least 16 of them.
Result<std::string> readClusterSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("config", "cluster.secret_file: cannot read " + path);
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < 16) {
    return makeError("config", "cluster.secret_file: " + path + " holds fewer than 16 bytes");
  }
  return secret;
}

}  // namespace

ClusterComponent::ClusterComponent(App& app, HttpComponent& http, ControlComponent& control,
                                   MediaComponent& media)
    : app_(app), control_(control), media_(media) {
  http.addReadinessCheck("cluster", [this](std::string& why) {
    if (node_ == nullptr) {
      why = "not started";
      return false;
    }
    if (!node_->ready()) {
      why = redis_->up() ? "not registered (heartbeat not answered)" : "cluster store unreachable";
      return false;
    }
    return true;
  });
}

ClusterComponent::~ClusterComponent() {
  stop();
}

Result<void> ClusterComponent::start() {
  const Config& cfg = app_.config();
  const Config::Cluster& c = cfg.cluster;
  auto secret = readClusterSecret(c.secret_file);
  if (!secret.ok()) return secret.error();
  tickets_ = std::make_unique<control::cluster::TicketSealer>(*secret);

  control::cluster::RedisClientOptions ro;
  auto address = control::cluster::RedisAddress::parse(c.redis);
  if (!address.ok()) return makeError("config", "cluster.redis: " + address.error().message);
  ro.address = *address;
  ro.user = c.redis_user;
  if (!c.redis_password_file.empty()) {
    auto pw = control::cluster::readSecretFile(c.redis_password_file);
    if (!pw.ok()) return pw.error();
    ro.password = *pw;
  }
  ro.command_timeout = std::chrono::milliseconds(c.command_timeout_ms);
  redis_ = std::make_unique<control::cluster::RedisClient>(app_.control(), ro);
  metrics::ClusterMetrics& m = control_.metrics().cluster();
  redis_->setStateObserver([&m](bool up) { m.setStoreUp(up); });
  redis_->setLatencyObserver([&m](double seconds, bool answered) {
    if (answered) m.storeLatency(seconds);
  });

  control::cluster::ClusterNodeOptions no;
  no.node_id = cfg.node.id;
  no.public_url = c.public_url;
  no.region = c.region;
  no.capacity = c.capacity;
  no.key_prefix = c.key_prefix;
  no.alive_ttl = std::chrono::milliseconds(c.alive_ttl_ms);
  no.heartbeat = std::chrono::milliseconds(c.heartbeat_ms);
  no.lease_ttl = std::chrono::milliseconds(c.lease_ttl_ms);
  node_ = std::make_unique<control::cluster::ClusterNode>(app_.control(), *redis_, no, &m);

  control::ConsultationService& service = control_.service();
  signalling::WhipEndpoint& endpoint = media_.endpoint();
  control::cluster::ClusterNode::Callbacks cb;
  cb.load = [&endpoint] { return static_cast<uint32_t>(endpoint.sessionCount()); };
  cb.room_active = [&service](const std::string& room) { return service.roomHasSessions(room); };
  cb.doctor_live = [&service](const std::string& subject, const std::string& room) {
    return service.doctorLiveIn(subject, room);
  };
  cb.home_rooms = [&service] { return service.joinableRoomIds(100000); };
  cb.superseded = [&service](const std::string& room) {
    service.endRoomSessions(room, "superseded", [room](const Result<void>& r) {
      if (!r.ok()) MR_LOG_ERROR(logger(), "ending room {}: {}", room, r.error().message);
    });
  };
  cb.lease_lost = [&service](const std::string& subject, const std::string& room) {
    service.endRoomSessions(
        room, "superseded",
        [room](const Result<void>& r) {
          if (!r.ok()) MR_LOG_ERROR(logger(), "ending room {}: {}", room, r.error().message);
        },
        subject);
  };
  node_->setCallbacks(std::move(cb));
  service.setClusterRules(node_.get());

  endpointCluster_.node = node_.get();
  endpointCluster_.tickets = tickets_.get();
  endpointCluster_.publicUrl = c.public_url;
  endpointCluster_.ticketTtl = std::chrono::milliseconds(c.ticket_ttl_ms);
  endpointCluster_.redirected = [&m] { m.redirect(); };
  endpoint.setCluster(&endpointCluster_);

  redis_->start();
  node_->start();
  MR_LOG_INFO(logger(), "cluster node {} (boot {}) in region {} on redis {}, public URL {}",
              no.node_id, node_->options().boot_id, no.region, ro.address.toString(), c.public_url);
  return {};
}

void ClusterComponent::drain(std::chrono::milliseconds grace, std::function<void()> done) {
  (void)grace;
  if (node_ == nullptr) return done();
  // Draining in the registry, then gone: the alive key is deleted at once (not after its TTL),
  // so no other node sends joins here while the process exits. Answered within the command
  // timeout even if Redis is unreachable.
  node_->setDraining(true);
  node_->stop(std::move(done));
}

void ClusterComponent::stop() {
  if (node_ == nullptr) return;
  if (control_.running()) control_.service().setClusterRules(nullptr);
  media_.endpoint().setCluster(nullptr);
  node_.reset();
  if (redis_) redis_->stop();
  redis_.reset();
}

}  // namespace medrelay::server

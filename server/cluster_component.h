#pragma once

#include <memory>
#include <string>

#include "control/cluster/cluster_node.h"
#include "control/cluster/join_ticket.h"
#include "control/cluster/redis_client.h"
#include "server/app.h"
#include "server/control_component.h"
#include "server/http_component.h"
#include "server/media_component.h"

namespace medrelay::server {

// This node as a member of a cluster on Redis (docs/cluster.md), when `cluster.redis` is set:
// the Redis connection on the control loop, the node's registry entry and heartbeat, room
// placement and fencing, the cluster-wide doctor lease, and redirect tickets. It hands the
// ConsultationService its ClusterRules and the WhipEndpoint its placement; `/readyz` gets a
// `cluster` check (`/healthz` never looks at Redis). Drain marks the node draining, then
// deletes its alive key (the node left), so no new room is placed here.
class ClusterComponent : public App::Component {
 public:
  ClusterComponent(App& app, HttpComponent& http, ControlComponent& control, MediaComponent& media);
  ~ClusterComponent() override;

  std::string name() const override { return "cluster"; }
  Result<void> start() override;
  void drain(std::chrono::milliseconds grace, std::function<void()> done) override;
  void stop() override;

 private:
  App& app_;
  ControlComponent& control_;
  MediaComponent& media_;
  std::unique_ptr<control::cluster::RedisClient> redis_;
  std::unique_ptr<control::cluster::ClusterNode> node_;
  std::unique_ptr<control::cluster::TicketSealer> tickets_;
  signalling::WhipEndpoint::Cluster endpointCluster_;
};

}  // namespace medrelay::server

#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/counters/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// The cluster store (Redis) and what the node decided through it (docs/cluster.md). On a single
// node (no cluster.redis) every value stays 0. Control thread.
class ClusterMetrics {
 public:
  explicit ClusterMetrics(prometheus::Registry& registry);

  void setStoreUp(bool up) { storeUp_->Set(up ? 1 : 0); }
  void storeLatency(double seconds) { storeLatency_->Observe(seconds); }
  void setNodes(double serving, double draining, double lost) {
    nodes_[ClusterNodeState::kServing]->Set(serving);
    nodes_[ClusterNodeState::kDraining]->Set(draining);
    nodes_[ClusterNodeState::kLost]->Set(lost);
  }
  void placement(ClusterPlacement outcome) { placements_[outcome]->Increment(); }
  void leaseConflict(LeaseConflict kind) { leaseConflicts_[kind]->Increment(); }
  void redirect() { redirects_->Increment(); }

 private:
  // Sorted by family name.
  ByLabel<LeaseConflict, prometheus::Counter*> leaseConflicts_;  // ..._lease_conflicts_total
  ByLabel<ClusterNodeState, prometheus::Gauge*> nodes_;          // medrelay_cluster_nodes
  ByLabel<ClusterPlacement, prometheus::Counter*> placements_;   // ..._placements_total
  prometheus::Counter* redirects_;                               // ..._redirects_total
  prometheus::Histogram* storeLatency_;  // medrelay_cluster_store_latency_seconds
  prometheus::Gauge* storeUp_;           // medrelay_cluster_store_up
};

}  // namespace medrelay::metrics

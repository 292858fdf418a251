#include "control/metrics/cluster_metrics.h"

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {

ClusterMetrics::ClusterMetrics(prometheus::Registry& registry) {
  leaseConflicts_ = resolveAll<LeaseConflict>(
      prometheus::BuildCounter()
          .Name("medrelay_cluster_lease_conflicts_total")
          .Help("Doctor leases refused because another room holds them, or lost while held.")
          .Register(registry),
      {});
  nodes_ = resolveAll<ClusterNodeState>(
      prometheus::BuildGauge()
          .Name("medrelay_cluster_nodes")
          .Help("Registered cluster nodes by state, as this node's last heartbeat saw them.")
          .Register(registry),
      {});
  placements_ = resolveAll<ClusterPlacement>(
      prometheus::BuildCounter()
          .Name("medrelay_cluster_placements_total")
          .Help("Room placements this node asked the cluster store for, by outcome.")
          .Register(registry),
      {});
  redirects_ = &prometheus::BuildCounter()
                    .Name("medrelay_cluster_redirects_total")
                    .Help("Joins answered 307 towards the room's node.")
                    .Register(registry)
                    .Add({});
  storeLatency_ = &prometheus::BuildHistogram()
                       .Name("medrelay_cluster_store_latency_seconds")
                       .Help("Round trip of cluster store (Redis) commands.")
                       .Register(registry)
                       .Add({}, buckets::kClusterStoreSeconds);
  storeUp_ =
      &prometheus::BuildGauge()
           .Name("medrelay_cluster_store_up")
           .Help("1 while the cluster store (Redis) is connected; 0 when not or single node.")
           .Register(registry)
           .Add({});
}

}  // namespace medrelay::metrics

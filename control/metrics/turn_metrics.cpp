#include "control/metrics/turn_metrics.h"

#include "control/metrics/exposition.h"

namespace medrelay::metrics {

using prometheus::MetricType;

void collectTurnMetrics(const std::vector<const WorkerMetrics*>& workers,
                        std::vector<prometheus::MetricFamily>& out) {
  const auto counter = MetricType::Counter;
  const auto gauge = MetricType::Gauge;
  addPerWorker(
      out, workers, "medrelay_turn_allocations_active", gauge,
      "TURN allocations currently live, by client transport.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.allocations_active; });
  addPerWorker(
      out, workers, "medrelay_turn_allocations_created_total", counter,
      "TURN allocations created, by client transport.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.allocations_created; });
  addPerWorker(
      out, workers, "medrelay_turn_auth_failures_total", counter,
      "TURN requests refused for failed authentication, by reason.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.auth_failures; });
  addPerWorker(
      out, workers, "medrelay_turn_channels_active", gauge, "TURN channel bindings currently live.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.channels_active; });
  addPerWorker(
      out, workers, "medrelay_turn_local_path_packets_total", counter,
      "Relayed packets handed to or from medrelay's own media workers inside the process.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.local_path_packets; });
  addPerWorker(
      out, workers, "medrelay_turn_permissions_active", gauge,
      "TURN permissions currently installed.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.permissions_active; });
  addPerWorker(
      out, workers, "medrelay_turn_quota_refusals_total", counter,
      "TURN requests refused by a quota, by reason.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.quota_refusals; });
  addPerWorker(
      out, workers, "medrelay_turn_relayed_bytes_total", counter,
      "Application bytes relayed: in = peer to client, out = client to peer.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.relayed_bytes; });
  addPerWorker(
      out, workers, "medrelay_turn_relayed_packets_total", counter,
      "Packets relayed: in = peer to client, out = client to peer.",
      [](const WorkerMetrics& w) -> auto& { return w.turn.relayed_packets; });
}

}  // namespace medrelay::metrics

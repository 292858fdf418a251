#pragma once

#include <cstddef>

#include "common/counters/label_set.h"
#include "common/counters/local_counter.h"
#include "common/counters/packet_labels.h"

namespace medrelay::metrics {

// TURN server counters of one worker (RFC 8656), single-writer like MediaWorkerMetrics: the
// relayed data path is as hot as media forwarding. Gauges are moved by the owning worker
// (inc() on create, dec() on expiry/refresh to 0). direction: in = received from a peer and
// relayed to the client, out = received from the client and relayed to a peer. Exported by
// control/metrics/turn_metrics.cpp.
struct TurnWorkerMetrics {
  // Sorted by exported family name.
  ByLabel<Transport, LocalGauge> allocations_active;     // medrelay_turn_allocations_active
  ByLabel<Transport, LocalCounter> allocations_created;  // medrelay_turn_allocations_created_total
  ByLabel<TurnAuthFailure, LocalCounter> auth_failures;  // medrelay_turn_auth_failures_total
  LocalGauge channels_active;                            // medrelay_turn_channels_active
  ByLabel<Direction, LocalCounter> local_path_packets;   // medrelay_turn_local_path_packets_total
  LocalGauge permissions_active;                         // medrelay_turn_permissions_active
  ByLabel<TurnQuota, LocalCounter> quota_refusals;       // medrelay_turn_quota_refusals_total
  ByLabel<Direction, LocalCounter> relayed_bytes;        // medrelay_turn_relayed_bytes_total
  ByLabel<Direction, LocalCounter> relayed_packets;      // medrelay_turn_relayed_packets_total

  void relayed(Direction direction, size_t len) {
    relayed_packets[direction].inc();
    relayed_bytes[direction].inc(len);
  }
};

}  // namespace medrelay::metrics

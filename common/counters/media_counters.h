#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/counters/label_set.h"
#include "common/counters/local_counter.h"
#include "common/counters/packet_labels.h"

namespace medrelay::metrics {

namespace buckets {
// Receive-to-send inside the relay: 10 us ... 50 ms. Kept in nanoseconds for the packet path's
// integer LocalHistogram (control/metrics/buckets.h holds the control path's bounds).
inline constexpr std::array<uint64_t, 12> kForwardingLatencyNs = {
    10'000,    25'000,    50'000,    100'000,    250'000,    500'000,
    1'000'000, 2'500'000, 5'000'000, 10'000'000, 25'000'000, 50'000'000};
}  // namespace buckets

// Packet-path counters of one media worker, written only by that worker's thread (see
// LocalCounter). Every child is pre-resolved: the packet path is an array index and an add,
//   worker.media.received(PacketKind::kRtp, len);
//   worker.media.dropped[DropReason::kUnknownSsrc].inc();
// with no map look-up, string or allocation. control/metrics/media_metrics.cpp exports them with
// a `worker` label; the forwarding latency histogram is summed over workers (per-worker load
// shows in the event-loop metrics).
struct MediaWorkerMetrics {
  // Sorted by exported family name.
  // medrelay_datachannel_bytes_total: message payload bytes, in = from participants, out = to
  ByLabel<Direction, LocalCounter> datachannel_bytes;
  ByLabel<Direction, LocalCounter> datachannel_messages;  // medrelay_datachannel_messages_total
  // medrelay_datachannel_refused_total
  ByLabel<DataChannelRefusal, LocalCounter> datachannel_refused;
  ByLabel<DtlsFailure, LocalCounter> dtls_failures;  // medrelay_dtls_failures_total
  LocalCounter dtls_handshakes;                      // medrelay_dtls_handshakes_total
  LocalHistogram<buckets::kForwardingLatencyNs.size()> forwarding_latency{
      buckets::kForwardingLatencyNs};               // medrelay_forwarding_latency_seconds
  ByLabel<IceFailure, LocalCounter> ice_failures;   // medrelay_ice_failures_total
  ByLabel<Transport, LocalCounter> ice_handshakes;  // medrelay_ice_handshakes_total
  // medrelay_keyframe_requests_total
  ByLabel<KeyframeRequest, ByLabel<Direction, LocalCounter>> keyframe_requests;
  ByLabel<PacketKind, ByLabel<Direction, LocalCounter>> bytes;  // medrelay_media_bytes_total
  ByLabel<DropReason, LocalCounter> dropped;  // medrelay_media_packets_dropped_total
  LocalCounter downlink_overuse;              // medrelay_downlink_overuse_total
  ByLabel<PacketKind, ByLabel<Direction, LocalCounter>> packets;  // medrelay_media_packets_total
  ByLabel<Direction, LocalCounter> nacks;                         // medrelay_nacks_total
  LocalCounter retransmissions;                                   // medrelay_retransmissions_total
  LocalCounter retransmissions_suppressed;      // medrelay_retransmissions_suppressed_total
  LocalCounter sender_limits;                   // medrelay_sender_limits_total
  ByLabel<VideoFlow, LocalCounter> video_flow;  // medrelay_video_flow_changes_total
  LocalCounter sctp_associations;               // medrelay_sctp_associations_total (established)
  ByLabel<Direction, ByLabel<SrtpError, LocalCounter>> srtp_errors;  // medrelay_srtp_errors_total
  LocalCounter transport_cc_feedback;  // medrelay_transport_cc_feedback_total
  // medrelay_transport_dropped_total: mirrored once a second from the worker's WorkerTransport,
  // sockets and listeners (media::Router), which count in plain integers on the packet path.
  ByLabel<TransportDrop, LocalCounter> transport_dropped;

  void received(PacketKind kind, size_t len) {
    packets[kind][Direction::kIn].inc();
    bytes[kind][Direction::kIn].inc(len);
  }
  void sent(PacketKind kind, size_t len) {
    packets[kind][Direction::kOut].inc();
    bytes[kind][Direction::kOut].inc(len);
  }
  // Receive-to-send time of one forwarded packet, in nanoseconds (e.g. uv_hrtime() deltas).
  void forwarded(uint64_t latency_ns) { forwarding_latency.observe(latency_ns); }
};

}  // namespace medrelay::metrics

#include "control/metrics/media_metrics.h"

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {
using prometheus::MetricType;

void collectMediaMetrics(const std::vector<const WorkerMetrics*>& workers,
                         std::vector<prometheus::MetricFamily>& out) {
  const auto counter = MetricType::Counter;
  addPerWorker(
      out, workers, "medrelay_datachannel_bytes_total", counter,
      "Data channel message bytes received from and delivered to participants (no content is "
      "kept).",
      [](const WorkerMetrics& w) -> auto& { return w.media.datachannel_bytes; });
  addPerWorker(
      out, workers, "medrelay_datachannel_messages_total", counter,
      "Data channel messages received from (in) and delivered to (out) participants.",
      [](const WorkerMetrics& w) -> auto& { return w.media.datachannel_messages; });
  addPerWorker(
      out, workers, "medrelay_datachannel_refused_total", counter,
      "Data channel messages and channel opens refused, by reason.",
      [](const WorkerMetrics& w) -> auto& { return w.media.datachannel_refused; });
  addPerWorker(
      out, workers, "medrelay_dtls_failures_total", counter,
      "DTLS handshakes that failed, by reason.",
      [](const WorkerMetrics& w) -> auto& { return w.media.dtls_failures; });
  addPerWorker(
      out, workers, "medrelay_dtls_handshakes_total", counter,
      "DTLS handshakes completed (SRTP keys exported).",
      [](const WorkerMetrics& w) -> auto& { return w.media.dtls_handshakes; });

  HistogramTotals latency(buckets::kForwardingLatencyNs);
  for (const WorkerMetrics* w : workers) latency.add(w->media.forwarding_latency);
  auto latency_family = makeFamily(
      "medrelay_forwarding_latency_seconds",
      "Time from receiving a media packet to sending it to a consumer, inside the relay.",
      MetricType::Histogram);
  addHistogram(latency_family, {}, latency);
  out.push_back(std::move(latency_family));

  addPerWorker(
      out, workers, "medrelay_ice_failures_total", counter,
      "ICE sessions that failed before or after connecting, by reason.",
      [](const WorkerMetrics& w) -> auto& { return w.media.ice_failures; });
  addPerWorker(
      out, workers, "medrelay_ice_handshakes_total", counter,
      "ICE sessions that reached connected (first valid check), by transport.",
      [](const WorkerMetrics& w) -> auto& { return w.media.ice_handshakes; });
  addPerWorker(
      out, workers, "medrelay_keyframe_requests_total", counter,
      "RTCP keyframe requests (PLI, FIR) received from consumers or sent to producers.",
      [](const WorkerMetrics& w) -> auto& { return w.media.keyframe_requests; });
  addPerWorker(
      out, workers, "medrelay_media_bytes_total", counter,
      "RTP/RTCP bytes received and sent (UDP or ICE-TCP payload, SRTP included).",
      [](const WorkerMetrics& w) -> auto& { return w.media.bytes; });
  addPerWorker(
      out, workers, "medrelay_media_packets_dropped_total", counter,
      "Media-path datagrams dropped, by reason.",
      [](const WorkerMetrics& w) -> auto& { return w.media.dropped; });
  addPerWorker(
      out, workers, "medrelay_media_packets_total", counter, "RTP/RTCP packets received and sent.",
      [](const WorkerMetrics& w) -> auto& { return w.media.packets; });
  addPerWorker(
      out, workers, "medrelay_nacks_total", counter,
      "RTCP generic NACK (RFC 4585 section 6.2.1) messages received and sent.",
      [](const WorkerMetrics& w) -> auto& { return w.media.nacks; });
  addPerWorker(
      out, workers, "medrelay_retransmissions_total", counter,
      "Packets retransmitted (RTX, RFC 4588) from the send buffer in answer to NACKs.",
      [](const WorkerMetrics& w) -> auto& { return w.media.retransmissions; });
  addPerWorker(
      out, workers, "medrelay_retransmissions_suppressed_total", counter,
      "NACKed packets not resent because they were resent less than a round trip ago.",
      [](const WorkerMetrics& w) -> auto& { return w.media.retransmissions_suppressed; });
  addPerWorker(
      out, workers, "medrelay_sender_limits_total", counter,
      "Lower receive limits (REMB) sent to publishers: the bottleneck of their subscribers' "
      "downlinks.",
      [](const WorkerMetrics& w) -> auto& { return w.media.sender_limits; });
  addPerWorker(
      out, workers, "medrelay_video_flow_changes_total", counter,
      "Audio first: video to a subscriber paused for lack of downlink, resumed, or a probe "
      "that failed.",
      [](const WorkerMetrics& w) -> auto& { return w.media.video_flow; });
  addPerWorker(
      out, workers, "medrelay_downlink_overuse_total", counter,
      "Subscriber downlink estimates lowered because transport-wide feedback showed a queue "
      "building or heavy loss.",
      [](const WorkerMetrics& w) -> auto& { return w.media.downlink_overuse; });
  addPerWorker(
      out, workers, "medrelay_sctp_associations_total", counter,
      "SCTP associations established over DTLS (data channels, RFC 8261).",
      [](const WorkerMetrics& w) -> auto& { return w.media.sctp_associations; });
  addPerWorker(
      out, workers, "medrelay_srtp_errors_total", counter,
      "SRTP/SRTCP failures: direction in = unprotect, out = protect.",
      [](const WorkerMetrics& w) -> auto& { return w.media.srtp_errors; });
  addPerWorker(
      out, workers, "medrelay_transport_cc_feedback_total", counter,
      "Transport-wide congestion control feedback packets (RTPFB FMT 15) sent to publishers.",
      [](const WorkerMetrics& w) -> auto& { return w.media.transport_cc_feedback; });
  addPerWorker(
      out, workers, "medrelay_transport_dropped_total", counter,
      "Datagrams dropped below the sessions (demux, media UDP sockets, ICE-TCP), by reason; "
      "updated once a second.",
      [](const WorkerMetrics& w) -> auto& { return w.media.transport_dropped; });
}

}  // namespace medrelay::metrics

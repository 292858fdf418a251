#pragma once

#include "common/counters/label_set.h"

// The label values of the packet path's counters (media workers, TURN), declared once. They live
// here, next to the counters, so that media/ and net/ count without knowing how control/ exports
// them. Labels are bounded, so a series count cannot grow with traffic. Adding a value: insert it
// before kOther and add it to the metrics reference in docs/operations.md.
namespace medrelay::metrics {

#define MEDRELAY_METRICS_TRANSPORTS(X) \
  X(kUdp, "udp")                       \
  X(kTcp, "tcp")                       \
  X(kTls, "tls")                       \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(Transport, "transport", MEDRELAY_METRICS_TRANSPORTS);

// in = received by the relay, out = sent by the relay.
#define MEDRELAY_METRICS_DIRECTIONS(X) \
  X(kIn, "in")                         \
  X(kOut, "out")                       \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(Direction, "direction", MEDRELAY_METRICS_DIRECTIONS);

#define MEDRELAY_METRICS_PACKET_KINDS(X) \
  X(kRtp, "rtp")                         \
  X(kRtcp, "rtcp")                       \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(PacketKind, "kind", MEDRELAY_METRICS_PACKET_KINDS);

// Keyframe requests: RTCP PLI (RFC 4585 §6.3.1) and FIR (RFC 5104 §4.3.1).
#define MEDRELAY_METRICS_KEYFRAME_REQUESTS(X) \
  X(kPli, "pli")                              \
  X(kFir, "fir")                              \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(KeyframeRequest, "kind", MEDRELAY_METRICS_KEYFRAME_REQUESTS);

// Audio first (docs/media.md "Subscriber downlink"): video to a subscriber paused for lack of
// downlink, resumed after a successful probe (or a trial), or a probe that showed too little.
#define MEDRELAY_METRICS_VIDEO_FLOW(X) \
  X(kPaused, "paused")                 \
  X(kResumed, "resumed")               \
  X(kProbeFailed, "probe_failed")      \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(VideoFlow, "change", MEDRELAY_METRICS_VIDEO_FLOW);

// Why the packet path dropped a datagram: the packet path reports no errors to a caller, so
// every drop is counted under one of these (docs/architecture.md, "Errors").
#define MEDRELAY_METRICS_DROP_REASONS(X)  \
  X(kMalformed, "malformed")              \
  X(kUnknownSource, "unknown_source")     \
  X(kUnknownSsrc, "unknown_ssrc")         \
  X(kNotConnected, "not_connected")       \
  X(kSrtp, "srtp")                        \
  X(kTooLarge, "too_large")               \
  X(kSendFailed, "send_failed")           \
  X(kWaitingKeyframe, "waiting_keyframe") \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(DropReason, "reason", MEDRELAY_METRICS_DROP_REASONS);

// Datagrams dropped below the sessions: by the demux (media::WorkerTransport: not STUN from an
// unknown tuple, a check the ICE agent refused, …), by the media UDP sockets (kernel buffer full,
// send errors, truncated receives) and by the passive ICE-TCP listeners (queue full, framing).
#define MEDRELAY_METRICS_TRANSPORT_DROPS(X)     \
  X(kBadStun, "bad_stun")                       \
  X(kIceRejected, "ice_rejected")               \
  X(kNotStun, "not_stun")                       \
  X(kShortPacket, "short_packet")               \
  X(kUnknownKind, "unknown_kind")               \
  X(kUnknownTuple, "unknown_tuple")             \
  X(kUnknownUfrag, "unknown_ufrag")             \
  X(kNoTransport, "no_transport")               \
  X(kUdpSendWouldBlock, "udp_send_would_block") \
  X(kUdpSendError, "udp_send_error")            \
  X(kUdpSendInvalid, "udp_send_invalid")        \
  X(kUdpRecvError, "udp_recv_error")            \
  X(kUdpRecvTruncated, "udp_recv_truncated")    \
  X(kTcpQueueFull, "tcp_queue_full")            \
  X(kTcpNoConnection, "tcp_no_connection")      \
  X(kTcpTooLarge, "tcp_too_large")              \
  X(kTcpBadFrame, "tcp_bad_frame")              \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(TransportDrop, "reason", MEDRELAY_METRICS_TRANSPORT_DROPS);

// srtp_unprotect/srtp_protect failures (libsrtp srtp_err_status_auth_fail, _replay_fail, ...).
#define MEDRELAY_METRICS_SRTP_ERRORS(X) \
  X(kAuth, "auth")                      \
  X(kReplay, "replay")                  \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(SrtpError, "reason", MEDRELAY_METRICS_SRTP_ERRORS);

// timeout: consent lost on the selected pair (RFC 7675 §5.1); no_nomination: a session's peer
// never nominated a pair within the connect timeout.
#define MEDRELAY_METRICS_ICE_FAILURES(X) \
  X(kTimeout, "timeout")                 \
  X(kNoNomination, "no_nomination")      \
  X(kAuth, "auth")                       \
  X(kRoleConflict, "role_conflict")      \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(IceFailure, "reason", MEDRELAY_METRICS_ICE_FAILURES);

#define MEDRELAY_METRICS_DTLS_FAILURES(X) \
  X(kTimeout, "timeout")                  \
  X(kAlert, "alert")                      \
  X(kFingerprint, "fingerprint")          \
  X(kSrtpProfile, "srtp_profile")         \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(DtlsFailure, "reason", MEDRELAY_METRICS_DTLS_FAILURES);

// Data channel messages and opens the relay refused (docs/media.md "Data channels"): above the
// maximum size (the channel is closed), over the session's rate limits, not a chat envelope, on a
// stream without a channel, a channel label we do not carry, a DCEP message that does not parse,
// a PPID data channels do not use, interleaved pieces; send_failed: a receiver's send buffer was
// full or the message is above its a=max-message-size.
#define MEDRELAY_METRICS_DATACHANNEL_REFUSALS(X) \
  X(kTooLarge, "too_large")                      \
  X(kRateLimited, "rate_limited")                \
  X(kBadEnvelope, "bad_envelope")                \
  X(kUnknownChannel, "unknown_channel")          \
  X(kUnknownLabel, "unknown_label")              \
  X(kBadDcep, "bad_dcep")                        \
  X(kBadPpid, "bad_ppid")                        \
  X(kInterleaved, "interleaved")                 \
  X(kSendFailed, "send_failed")                  \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(DataChannelRefusal, "reason", MEDRELAY_METRICS_DATACHANNEL_REFUSALS);

// TURN authentication failures (RFC 8489 §9.2). A first request without credentials answered
// with 401 + NONCE is the protocol's normal challenge, not a failure: do not count it.
#define MEDRELAY_METRICS_TURN_AUTH_FAILURES(X) \
  X(kBadIntegrity, "bad_integrity")            \
  X(kUnknownUser, "unknown_user")              \
  X(kExpired, "expired")                       \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(TurnAuthFailure, "reason", MEDRELAY_METRICS_TURN_AUTH_FAILURES);

// TURN quota refusals (RFC 8656 §7.2 486 Allocation Quota Reached, and our own limits).
#define MEDRELAY_METRICS_TURN_QUOTAS(X)          \
  X(kAllocationsPerUser, "allocations_per_user") \
  X(kAllocationsTotal, "allocations_total")      \
  X(kPermissions, "permissions")                 \
  X(kChannels, "channels")                       \
  X(kBandwidth, "bandwidth")                     \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(TurnQuota, "reason", MEDRELAY_METRICS_TURN_QUOTAS);

}  // namespace medrelay::metrics

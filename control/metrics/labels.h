#pragma once

#include "common/counters/label_set.h"
#include "common/counters/packet_labels.h"

// The control plane's label values (roles, room states, refusals, HTTP, store, access log); the
// packet path's (transport, direction, drops, DTLS, SRTP, TURN) are in common/counters/
// packet_labels.h, included here. Labels are bounded (a series per value): never room ids,
// subjects, tokens or usernames. Adding a value: insert it before kOther and add it to the metrics
// reference in docs/operations.md.
namespace medrelay::metrics {

// Participant roles (same spelling as the REST API and the access log).
#define MEDRELAY_METRICS_ROLES(X)         \
  X(kDoctor, "doctor")                    \
  X(kPatient, "patient")                  \
  X(kNurse, "nurse")                      \
  X(kAttendingDoctor, "attending_doctor") \
  X(kSupporter, "supporter")              \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(Role, "role", MEDRELAY_METRICS_ROLES);

// Persisted room states (REST API spelling).
#define MEDRELAY_METRICS_ROOM_STATES(X) \
  X(kScheduled, "scheduled")            \
  X(kOpen, "open")                      \
  X(kInConsultation, "in_consultation") \
  X(kEnded, "ended")                    \
  X(kCancelled, "cancelled")            \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(RoomState, "state", MEDRELAY_METRICS_ROOM_STATES);

// Why a join (WHIP/WHEP POST with an invite token) was refused: the ConsultationService's error
// codes (docs/policy.md), spelled the same; bad_offer and capacity come from the media plane.
#define MEDRELAY_METRICS_JOIN_REFUSALS(X)            \
  X(kInvalidToken, "invalid_token")                  \
  X(kRateLimited, "rate_limited")                    \
  X(kInviteRevoked, "invite_revoked")                \
  X(kNotYetOpen, "not_yet_open")                     \
  X(kWindowClosed, "window_closed")                  \
  X(kWrongRoom, "wrong_room")                        \
  X(kRoomCancelled, "room_cancelled")                \
  X(kRoomEnded, "room_ended")                        \
  X(kDoctorBusy, "doctor_busy")                      \
  X(kAlreadyConnected, "already_connected")          \
  X(kTooManySessions, "too_many_sessions")           \
  X(kAccessLogUnavailable, "access_log_unavailable") \
  X(kBadOffer, "bad_offer")                          \
  X(kCapacity, "capacity")                           \
  X(kClusterUnavailable, "cluster_unavailable")      \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(JoinRefusal, "reason", MEDRELAY_METRICS_JOIN_REFUSALS);

// Why a participant session ended: the access log's end reasons, spelled the same.
#define MEDRELAY_METRICS_SESSION_END_REASONS(X) \
  X(kHangup, "hangup")                          \
  X(kConsentTimeout, "consent-timeout")         \
  X(kIceFailed, "ice-failed")                   \
  X(kDtlsFailed, "dtls-failed")                 \
  X(kRevoked, "revoked")                        \
  X(kCancelled, "cancelled")                    \
  X(kWindowClosed, "window-closed")             \
  X(kKicked, "kicked")                          \
  X(kTakeover, "takeover")                      \
  X(kServerShutdown, "server-shutdown")         \
  X(kServerRestart, "server-restart")           \
  X(kSuperseded, "superseded")                  \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(SessionEndReason, "reason", MEDRELAY_METRICS_SESSION_END_REASONS);

#define MEDRELAY_METRICS_STATUS_CLASSES(X) \
  X(k1xx, "1xx")                           \
  X(k2xx, "2xx")                           \
  X(k3xx, "3xx")                           \
  X(k4xx, "4xx")                           \
  X(k5xx, "5xx")                           \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(StatusClass, "status_class", MEDRELAY_METRICS_STATUS_CLASSES);

// 100..599 -> its class; anything else -> other.
constexpr StatusClass statusClass(int status) {
  return status >= 100 && status <= 599 ? static_cast<StatusClass>(status / 100 - 1)
                                        : StatusClass::kOther;
}

#define MEDRELAY_METRICS_ACCESS_LOG_ERRORS(X) \
  X(kOpen, "open")                            \
  X(kWrite, "write")                          \
  X(kFsync, "fsync")                          \
  X(kRotate, "rotate")                        \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(AccessLogError, "kind", MEDRELAY_METRICS_ACCESS_LOG_ERRORS);

#define MEDRELAY_METRICS_STORE_ERRORS(X) \
  X(kOpen, "open")                       \
  X(kRead, "read")                       \
  X(kWrite, "write")                     \
  X(kBusy, "busy")                       \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(StoreError, "kind", MEDRELAY_METRICS_STORE_ERRORS);

// Cluster nodes by state as the heartbeat sees them (docs/cluster.md): alive and serving, alive
// and draining, registered but their alive key expired.
#define MEDRELAY_METRICS_CLUSTER_NODE_STATES(X) \
  X(kServing, "serving")                        \
  X(kDraining, "draining")                      \
  X(kLost, "lost")                              \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(ClusterNodeState, "state", MEDRELAY_METRICS_CLUSTER_NODE_STATES);

// What a room placement answered: the owner kept, a first placement, a reassignment (epoch + 1),
// a room the cluster does not know, no live node for it, or the store unreachable.
#define MEDRELAY_METRICS_CLUSTER_PLACEMENTS(X) \
  X(kKept, "kept")                             \
  X(kPlaced, "placed")                         \
  X(kReassigned, "reassigned")                 \
  X(kUnknown, "unknown")                       \
  X(kNoNode, "no_node")                        \
  X(kUnavailable, "unavailable")               \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(ClusterPlacement, "outcome", MEDRELAY_METRICS_CLUSTER_PLACEMENTS);

// A doctor lease refused at a join (another room holds it) or lost by a room that held it.
#define MEDRELAY_METRICS_LEASE_CONFLICTS(X) \
  X(kRefused, "refused")                    \
  X(kLost, "lost")                          \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(LeaseConflict, "kind", MEDRELAY_METRICS_LEASE_CONFLICTS);

// Backend (API-key) requests refused (the api_auth_failed record's reason): a missing or wrong
// key, or the first refusal after a source address ran out of attempts.
#define MEDRELAY_METRICS_API_AUTH_FAILURES(X) \
  X(kInvalidApiKey, "invalid_api_key")        \
  X(kRateLimited, "rate_limited")             \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(ApiAuthFailure, "reason", MEDRELAY_METRICS_API_AUTH_FAILURES);

// Directories whose filesystem space is exported (medrelay_filesystem_*_bytes).
#define MEDRELAY_METRICS_DIRS(X) \
  X(kData, "data")               \
  X(kAccessLog, "access_log")    \
  X(kOther, "other")
MEDRELAY_METRICS_LABEL_SET(DataDir, "dir", MEDRELAY_METRICS_DIRS);

}  // namespace medrelay::metrics

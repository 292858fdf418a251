#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string_view>

#include "common/counters/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// Rooms, participants and consultations (control thread, where the policy runs). Events happen a
// few times per join, so prometheus-cpp children are fine here; all are pre-resolved.
class PolicyMetrics {
 public:
  explicit PolicyMetrics(prometheus::Registry& registry);

  // medrelay_rooms: the rooms the store holds, by state; the server sets it at scrape time.
  void setRooms(RoomState state, double count) { rooms_[state]->Set(count); }

  void consultationStarted() { consultations_started_->Increment(); }
  void consultationEnded() { consultations_ended_->Increment(); }
  void joinRefused(JoinRefusal reason, Role role = Role::kOther) {
    join_refusals_[reason][role]->Increment();
  }
  void apiAuthFailed(ApiAuthFailure reason) { api_auth_failures_[reason]->Increment(); }

  // Feeds the families from one access-log record as it is appended (AccessLogOptions::on_append,
  // control thread): join_refused, participant_joined/left, consultation_started/ended and
  // api_auth_failed; other events are ignored. Sessions ended as server-restart were live in a
  // previous process, so they do not lower medrelay_participants_connected.
  void onAccessRecord(std::string_view event, std::string_view role, std::string_view reason);
  // A session reached media (DTLS connected) `seconds` after its WHIP/WHEP POST was accepted
  // (media plane). Participants and ended sessions are counted from the access records.
  void joinCompleted(double join_seconds) { join_duration_->Observe(join_seconds); }
  // One link-quality report of a session (every 2 s, docs/media.md "Quality you can see"):
  // direction in = what the relay receives from a publishing participant, out = what it sends a
  // subscriber. RTT only where known (subscribers' receiver reports).
  void linkQuality(Role role, Direction direction, double bits_per_second, double loss,
                   double rtt_seconds);

  prometheus::Gauge& rooms(RoomState state) { return *rooms_[state]; }
  prometheus::Gauge& participants(Role role) { return *participants_[role]; }
  prometheus::Counter& joinRefusals(JoinRefusal reason, Role role = Role::kOther) {
    return *join_refusals_[reason][role];
  }
  prometheus::Counter& apiAuthFailures(ApiAuthFailure r) { return *api_auth_failures_[r]; }
  prometheus::Counter& sessionsEnded(SessionEndReason r) { return *sessions_ended_[r]; }
  prometheus::Counter& consultationsStarted() { return *consultations_started_; }
  prometheus::Counter& consultationsEnded() { return *consultations_ended_; }
  prometheus::Histogram& joinDuration() { return *join_duration_; }
  prometheus::Histogram& linkBitrate(Role role, Direction d) { return *link_bitrate_[role][d]; }
  prometheus::Histogram& linkLoss(Role role, Direction d) { return *link_loss_[role][d]; }
  prometheus::Histogram& linkRtt(Role role) { return *link_rtt_[role]; }

 private:
  // Sorted by family name.
  ByLabel<ApiAuthFailure, prometheus::Counter*> api_auth_failures_;  // ..._api_auth_failures_total
  prometheus::Counter* consultations_ended_;    // medrelay_consultations_ended_total
  prometheus::Counter* consultations_started_;  // medrelay_consultations_started_total
  prometheus::Histogram* join_duration_;        // medrelay_join_duration_seconds
  // medrelay_join_refusals_total
  ByLabel<JoinRefusal, ByLabel<Role, prometheus::Counter*>> join_refusals_;
  // medrelay_link_media_bytes_per_second, medrelay_link_loss_ratio, medrelay_link_rtt_seconds
  ByLabel<Role, ByLabel<Direction, prometheus::Histogram*>> link_bitrate_;
  ByLabel<Role, ByLabel<Direction, prometheus::Histogram*>> link_loss_;
  ByLabel<Role, prometheus::Histogram*> link_rtt_;
  ByLabel<Role, prometheus::Gauge*> participants_;  // medrelay_participants_connected
  ByLabel<RoomState, prometheus::Gauge*> rooms_;    // medrelay_rooms
  ByLabel<SessionEndReason, prometheus::Counter*> sessions_ended_;  // medrelay_sessions_ended_total
};

}  // namespace medrelay::metrics

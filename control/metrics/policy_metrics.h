#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "control/metrics/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// Rooms, participants and consultations (control thread, where the policy runs). Events happen a
// few times per join, so prometheus-cpp children are fine here; all are pre-resolved.
class PolicyMetrics {
 public:
  explicit PolicyMetrics(prometheus::Registry& registry);

  // medrelay_rooms counts the rooms the store holds, by state: roomCreated() on create,
  // roomStateChanged() on every transition, roomRemoved() when purged.
  void roomCreated(RoomState state) { rooms_[state]->Increment(); }
  void roomStateChanged(RoomState from, RoomState to) {
    rooms_[from]->Decrement();
    rooms_[to]->Increment();
  }
  void roomRemoved(RoomState state) { rooms_[state]->Decrement(); }
  // After a restart the store sets the gauges from what it loaded.
  void setRooms(RoomState state, double count) { rooms_[state]->Set(count); }

  void consultationStarted() { consultations_started_->Increment(); }
  void consultationEnded() { consultations_ended_->Increment(); }
  void joinRefused(JoinRefusal reason) { join_refusals_[reason]->Increment(); }
  // A session reached media (DTLS connected) `seconds` after its WHIP/WHEP POST was accepted.
  void participantConnected(Role role, double join_seconds) {
    participants_[role]->Increment();
    join_duration_->Observe(join_seconds);
  }
  void participantDisconnected(Role role, SessionEndReason reason) {
    participants_[role]->Decrement();
    sessions_ended_[reason]->Increment();
  }

  prometheus::Gauge& rooms(RoomState state) { return *rooms_[state]; }
  prometheus::Gauge& participants(Role role) { return *participants_[role]; }
  prometheus::Counter& joinRefusals(JoinRefusal reason) { return *join_refusals_[reason]; }
  prometheus::Counter& sessionsEnded(SessionEndReason r) { return *sessions_ended_[r]; }
  prometheus::Counter& consultationsStarted() { return *consultations_started_; }
  prometheus::Counter& consultationsEnded() { return *consultations_ended_; }
  prometheus::Histogram& joinDuration() { return *join_duration_; }

 private:
  // Sorted by family name.
  prometheus::Counter* consultations_ended_;    // medrelay_consultations_ended_total
  prometheus::Counter* consultations_started_;  // medrelay_consultations_started_total
  prometheus::Histogram* join_duration_;        // medrelay_join_duration_seconds
  ByLabel<JoinRefusal, prometheus::Counter*> join_refusals_;  // medrelay_join_refusals_total
  ByLabel<Role, prometheus::Gauge*> participants_;            // medrelay_participants_connected
  ByLabel<RoomState, prometheus::Gauge*> rooms_;              // medrelay_rooms
  ByLabel<SessionEndReason, prometheus::Counter*> sessions_ended_;  // medrelay_sessions_ended_total
};

}  // namespace medrelay::metrics

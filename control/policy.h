#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/consultation.h"

namespace medrelay::control {

// The consultation rules as pure functions (docs/policy.md). ConsultationService calls them
// with what the store holds; the media plane calls canReceive.

// The HTTP status of an error code from the control plane (400 for parse errors, 500 unknown).
int policyStatus(std::string_view code);

// Japanese text for the early-join refusal, worded as the CLINICS service tells patients who
// arrive before the one-hour waiting window (docs/policy.md, rule 4).
inline constexpr std::string_view kNotYetOpenMessageJa =
    "このビデオ通話は開始前です。開始1時間前より待機することができます。";

// Rule 1 and 2: may an invite for `role` be issued in `room`, given its live invites?
// Errors: room_cancelled, room_ended (409), role_not_allowed_in_mode, consent_required (422),
// doctor_already_invited, patient_already_invited, attending_doctor_already_invited (409).
Result<void> checkInviteAllowed(const Room& room, const std::vector<Invite>& room_invites,
                                Role role, bool has_consent, int64_t now_us);

// Rule 4 (after the token resolved to `invite`): its room, not revoked, room live, window.
// Errors: wrong_room, invite_revoked, room_cancelled, room_ended, not_yet_open, window_closed.
Result<void> checkInviteWindow(const Room& room, const Invite& invite,
                               const std::string& requested_room, int64_t now_us);

// Rule 6: may `subscriber`'s session receive `publisher`'s media? Before admission the patient
// side (patient, nurse, attending doctor, supporter) reaches only the doctor and receives
// nothing; after it everyone in the room receives everyone else. Never across rooms, never from
// a revoked invite, never in a room that is not live.
bool canReceive(const Room& room, const Invite& subscriber, const Invite& publisher);

// Counters by bounded labels only: role × reason for refusals, event names for changes.
struct PolicyCounters {
  // refusals[role or "none"][reason]
  std::map<std::string, std::map<std::string, uint64_t>, std::less<>> refusals;
  std::map<std::string, uint64_t, std::less<>> changes;  // access-log event name → count
  uint64_t log_failures = 0;                             // records that did not become durable

  void countRefusal(std::string_view role, std::string_view reason) {
    ++refusals[std::string(role.empty() ? "none" : role)][std::string(reason)];
  }
  uint64_t refused(std::string_view role, std::string_view reason) const;
  uint64_t refusedTotal(std::string_view reason) const;
  uint64_t changed(std::string_view event) const;
};

}  // namespace medrelay::control

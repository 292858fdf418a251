#include "control/policy.h"

#include <algorithm>

#include "control/access_log_record.h"

namespace medrelay::control {
namespace {

struct CodeStatus {
  std::string_view code;
  int status;
};

constexpr std::array<CodeStatus, 39> kStatuses = {{
    {"invalid_json", 400},
    {"unknown_field", 400},
    {"missing_field", 400},
    {"invalid_field", 400},
    {"invalid_token", 401},
    {"forbidden_role", 403},
    {"invite_revoked", 403},
    {"room_cancelled", 403},
    {"not_yet_open", 403},
    {"window_closed", 403},
    {"wrong_room", 403},
    {"room_not_found", 404},
    {"invite_not_found", 404},
    {"session_not_found", 404},
    {"room_ended", 409},
    {"doctor_already_invited", 409},
    {"patient_already_invited", 409},
    {"attending_doctor_already_invited", 409},
    {"doctor_busy", 409},
    {"already_connected", 409},
    {"already_admitted", 409},
    {"too_many_sessions", 409},
    {"session_ended", 409},
    {"start_time_immutable", 422},
    {"field_immutable", 422},
    {"consent_required", 422},
    {"role_not_allowed_in_mode", 422},
    {"rate_limited", 429},
    {"store_error", 500},
    {"access_log_unavailable", 503},
    {"cluster_unavailable", 503},
    {"invalid_ticket", 403},
    {"invalid_record", 500},
    {"not_admitted", 409},
    {"room_not_live", 409},
    {"store_open", 500},
    {"store_version", 500},
    {"access_log_corrupt", 500},
    {"access_log_key", 500},
}};

bool liveRoleTaken(const std::vector<Invite>& invites, Role role) {
  return std::any_of(invites.begin(), invites.end(),
                     [&](const Invite& i) { return i.live() && i.role == role; });
}

}  // namespace

int policyStatus(std::string_view code) {
  for (const auto& cs : kStatuses) {
    if (cs.code == code) return cs.status;
  }
  return 500;
}

Result<void> checkInviteAllowed(const Room& room, const std::vector<Invite>& room_invites,
                                Role role, bool has_consent, int64_t now_us) {
  if (room.state == RoomState::kCancelled) {
    return makeError("room_cancelled", "the consultation was cancelled");
  }
  if (room.state == RoomState::kEnded || now_us >= room.closes_at_us) {
    return makeError("room_ended", "the consultation has ended or its window has closed");
  }
  switch (role) {
    case Role::kDoctor:
      if (liveRoleTaken(room_invites, role)) {
        return makeError("doctor_already_invited",
                         "the room already has a live doctor invite; revoke it first");
      }
      return {};
    case Role::kPatient:
      if (liveRoleTaken(room_invites, role)) {
        return makeError("patient_already_invited",
                         "the room already has a live patient invite; revoke it first");
      }
      return {};
    case Role::kNurse:
      if (room.mode != RoomMode::kD2PWithN) {
        return makeError("role_not_allowed_in_mode", "a nurse joins only in mode d2p_with_n");
      }
      break;
    case Role::kAttendingDoctor:
      if (room.mode != RoomMode::kD2PWithD) {
        return makeError("role_not_allowed_in_mode",
                         "an attending doctor joins only in mode d2p_with_d");
      }
      if (liveRoleTaken(room_invites, role)) {
        return makeError("attending_doctor_already_invited",
                         "the room already has a live attending_doctor invite");
      }
      break;
    case Role::kSupporter:
      break;
  }
  if (!has_consent) {
    return makeError("consent_required", std::string("a ") + std::string(toString(role)) +
                                             " invite needs the patient's consent record");
  }
  return {};
}

Result<void> checkInviteWindow(const Room& room, const Invite& invite,
                               const std::string& requested_room, int64_t now_us) {
  if (invite.room_id != requested_room) {
    return makeError("wrong_room", "this invite is for another consultation");
  }
  if (room.state == RoomState::kCancelled) {
    return makeError("room_cancelled", "the consultation was cancelled");
  }
  if (!invite.live()) return makeError("invite_revoked", "this invite was revoked");
  if (room.state == RoomState::kEnded) {
    return makeError("room_ended", "the consultation has ended");
  }
  if (now_us < room.opens_at_us) {
    return makeError("not_yet_open",
                     "the consultation has not opened yet: you can wait from one hour before its "
                     "start (opens at " +
                         formatTime(room.opens_at_us) + ")");
  }
  if (now_us >= room.closes_at_us) {
    return makeError("window_closed", "the consultation's window has closed");
  }
  return {};
}

bool canReceive(const Room& room, const Invite& subscriber, const Invite& publisher) {
  if (!room.live()) return false;
  if (subscriber.room_id != room.id || publisher.room_id != room.id) return false;
  if (!subscriber.live() || !publisher.live()) return false;
  if (subscriber.id == publisher.id) return false;
  if (room.admitted()) return true;
  // Waiting room: only the doctor receives, and only the doctor's own view of the waiting side.
  return subscriber.role == Role::kDoctor;
}

uint64_t PolicyCounters::refused(std::string_view role, std::string_view reason) const {
  auto r = refusals.find(role.empty() ? std::string_view("none") : role);
  if (r == refusals.end()) return 0;
  auto it = r->second.find(std::string(reason));
  return it == r->second.end() ? 0 : it->second;
}

uint64_t PolicyCounters::refusedTotal(std::string_view reason) const {
  uint64_t n = 0;
  for (const auto& [role, reasons] : refusals) {
    auto it = reasons.find(std::string(reason));
    if (it != reasons.end()) n += it->second;
  }
  return n;
}

uint64_t PolicyCounters::changed(std::string_view event) const {
  auto it = changes.find(event);
  return it == changes.end() ? 0 : it->second;
}

}  // namespace medrelay::control

#include "control/consultation.h"

#include <array>

#include "control/access_log_record.h"

namespace medrelay::control {
namespace {

constexpr std::array<std::string_view, 3> kModes = {"d2p", "d2p_with_n", "d2p_with_d"};
constexpr std::array<std::string_view, 5> kStates = {"scheduled", "open", "in_consultation",
                                                     "ended", "cancelled"};
constexpr std::array<std::string_view, kRoleCount> kRoles = {"doctor", "patient", "nurse",
                                                             "attending_doctor", "supporter"};
constexpr std::array<std::string_view, 2> kSessionKinds = {"publish", "subscribe"};

template <typename E, size_t N>
std::optional<E> parseEnum(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

nlohmann::json timeOrNull(int64_t us) {
  return us == 0 ? nlohmann::json() : nlohmann::json(formatTime(us));
}

}  // namespace

std::string_view toString(RoomMode mode) {
  return kModes[static_cast<size_t>(mode)];
}
std::string_view toString(RoomState state) {
  return kStates[static_cast<size_t>(state)];
}
std::string_view toString(Role role) {
  return kRoles[static_cast<size_t>(role)];
}
std::string_view toString(SessionKind kind) {
  return kSessionKinds[static_cast<size_t>(kind)];
}
std::optional<RoomMode> parseRoomMode(std::string_view s) {
  return parseEnum<RoomMode>(kModes, s);
}
std::optional<RoomState> parseRoomState(std::string_view s) {
  return parseEnum<RoomState>(kStates, s);
}
std::optional<Role> parseRole(std::string_view s) {
  return parseEnum<Role>(kRoles, s);
}
std::optional<SessionKind> parseSessionKind(std::string_view s) {
  return parseEnum<SessionKind>(kSessionKinds, s);
}

bool isPatientSide(Role role) {
  return role != Role::kDoctor;
}
bool needsConsent(Role role) {
  return role != Role::kDoctor && role != Role::kPatient;
}

RoomState Room::effectiveState(int64_t now_us) const {
  if (state == RoomState::kScheduled && now_us >= opens_at_us && now_us < closes_at_us) {
    return RoomState::kOpen;
  }
  return state;
}

nlohmann::json toJson(const Room& room, int64_t now_us) {
  return {
      {"id", room.id},
      {"mode", toString(room.mode)},
      {"state", toString(room.effectiveState(now_us))},
      {"scheduled_start", formatTime(room.scheduled_start_us)},
      {"opens_at", formatTime(room.opens_at_us)},
      {"closes_at", formatTime(room.closes_at_us)},
      {"institution_id", room.institution_id},
      {"institution_contact", room.institution_contact},
      {"doctor_display_name", room.doctor_display_name},
      {"title", room.title},
      {"external_ref", room.external_ref},
      {"created_at", formatTime(room.created_us)},
      {"admitted_at", timeOrNull(room.admitted_us)},
      {"ended_at", timeOrNull(room.ended_us)},
      {"end_reason", room.end_reason.empty() ? nlohmann::json() : nlohmann::json(room.end_reason)}};
}

nlohmann::json toJson(const Invite& invite) {
  nlohmann::json j = {{"id", invite.id},
                      {"room_id", invite.room_id},
                      {"role", toString(invite.role)},
                      {"subject", invite.subject},
                      {"created_at", formatTime(invite.created_us)},
                      {"expires_at", formatTime(invite.expires_us)},
                      {"revoked_at", timeOrNull(invite.revoked_us)}};
  if (invite.consent) {
    j["consent"] = {{"given_by", invite.consent->given_by},
                    {"given_at", formatTime(invite.consent->given_at_us)},
                    {"role", toString(invite.consent->role)}};
  }
  return j;
}

nlohmann::json toJson(const Session& s) {
  nlohmann::json j = {{"id", s.id},
                      {"invite_id", s.invite_id},
                      {"role", toString(s.role)},
                      {"subject", s.subject},
                      {"direction", toString(s.direction)},
                      {"transport", s.transport},
                      {"remote", s.remote},
                      {"started_at", formatTime(s.started_us)},
                      {"stale", s.stale}};
  if (s.quality) j["quality"] = toJson(*s.quality);
  return j;
}

nlohmann::json toJson(const RoomDetail& detail, int64_t now_us) {
  nlohmann::json j = toJson(detail.room, now_us);
  j["sessions"] = nlohmann::json::array();
  for (const auto& s : detail.sessions) j["sessions"].push_back(toJson(s));
  return j;
}

nlohmann::json toJson(const ParticipantInfo& info) {
  nlohmann::json j = {{"room_id", info.room_id},
                      {"mode", toString(info.mode)},
                      {"state", toString(info.state)},
                      {"scheduled_start", formatTime(info.scheduled_start_us)},
                      {"opens_at", formatTime(info.opens_at_us)},
                      {"closes_at", formatTime(info.closes_at_us)},
                      {"institution_id", info.institution_id},
                      {"institution_contact", info.institution_contact},
                      {"doctor_display_name", info.doctor_display_name},
                      {"role", toString(info.role)},
                      {"invite_id", info.invite_id}};
  if (info.title) j["title"] = *info.title;
  if (info.external_ref) j["external_ref"] = *info.external_ref;
  return j;
}

nlohmann::json toJson(const IssuedInvite& issued) {
  nlohmann::json j = toJson(issued.invite);
  j["token"] = issued.token;
  return j;
}

}  // namespace medrelay::control

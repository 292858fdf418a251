#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/link_quality.h"

namespace medrelay::control {

// The consultation models of the guideline (docs/policy.md): doctor–patient, with a nurse beside
// the patient, with the patient's attending doctor beside the patient.
enum class RoomMode : uint8_t { kD2P, kD2PWithN, kD2PWithD };

// Persisted states. kScheduled is shown as "open" while the window is open (effectiveState).
enum class RoomState : uint8_t { kScheduled, kOpen, kInConsultation, kEnded, kCancelled };

enum class Role : uint8_t { kDoctor, kPatient, kNurse, kAttendingDoctor, kSupporter };
inline constexpr size_t kRoleCount = 5;

// A session publishes (WHIP) or subscribes (WHEP); the API and the store call it `direction`.
enum class SessionKind : uint8_t { kPublish, kSubscribe };

std::string_view toString(RoomMode mode);
std::string_view toString(RoomState state);
std::string_view toString(Role role);
std::string_view toString(SessionKind kind);
std::optional<RoomMode> parseRoomMode(std::string_view s);
std::optional<RoomState> parseRoomState(std::string_view s);
std::optional<Role> parseRole(std::string_view s);
std::optional<SessionKind> parseSessionKind(std::string_view s);

// Roles that sit beside the patient: they wait with the patient until admission.
bool isPatientSide(Role role);
// Roles other than doctor and patient need a recorded patient consent.
bool needsConsent(Role role);

struct Room {
  std::string id;
  RoomMode mode = RoomMode::kD2P;
  int64_t scheduled_start_us = 0;  // UTC µs
  int64_t opens_at_us = 0;
  int64_t closes_at_us = 0;
  std::string institution_id;
  std::string institution_contact;
  std::string doctor_display_name;  // shown to participants
  std::string title;                // never shown to the patient side
  std::string external_ref;         // never shown to the patient side
  RoomState state =
      RoomState::kScheduled;  // persisted: scheduled, in_consultation, ended, cancelled
  int64_t created_us = 0;
  int64_t admitted_us = 0;  // 0 until admission
  int64_t ended_us = 0;     // ended or cancelled
  std::string end_reason;   // window-closed, hangup, cancelled

  // scheduled → open while opens_at ≤ now < closes_at; the others as stored.
  RoomState effectiveState(int64_t now_us) const;
  bool live() const {
    return state == RoomState::kScheduled || state == RoomState::kInConsultation;
  }
  bool admitted() const { return admitted_us != 0; }
};

// A patient's consent to one more person in the consultation: staff other than the doctor and
// any third party beside the patient join only with it (docs/policy.md rule 2, docs/compliance.md).
struct ConsentRecord {
  std::string given_by;  // opaque id of who consented (the patient or their proxy)
  int64_t given_at_us = 0;
  Role role = Role::kSupporter;  // the role consented to
};

struct Invite {
  std::string id;
  std::string room_id;
  Role role = Role::kPatient;
  std::string subject;     // opaque id from the backend; never a name
  std::string token_hash;  // hex HMAC-SHA256(pepper, token); the token itself is never stored
  int64_t created_us = 0;
  int64_t expires_us = 0;  // the room's closes_at
  int64_t revoked_us = 0;  // 0 while live
  std::optional<ConsentRecord> consent;

  bool live() const { return revoked_us == 0; }
};

// A live participant session (one WHIP publish or WHEP subscribe).
struct Session {
  std::string id;
  std::string room_id;
  std::string invite_id;
  Role role = Role::kPatient;
  std::string subject;
  SessionKind direction = SessionKind::kPublish;
  std::string transport;  // udp, tcp, turn-udp, ...
  std::string remote;     // ip:port
  int64_t started_us = 0;
  bool stale = false;  // silent or without consent checks: a rejoin may take it over
  std::optional<LinkQuality> quality;  // the media plane's latest report (not stored)
};

// What GET /v1/rooms/{id} shows the backend: the room and who is live.
struct RoomDetail {
  Room room;
  std::vector<Session> sessions;
};

// What GET /v1/rooms/{id}/info shows a participant: never other participants' identities, and
// never the title or external reference to the patient side.
struct ParticipantInfo {
  std::string room_id;
  RoomMode mode = RoomMode::kD2P;
  RoomState state = RoomState::kScheduled;
  int64_t scheduled_start_us = 0;
  int64_t opens_at_us = 0;
  int64_t closes_at_us = 0;
  std::string institution_id;
  std::string institution_contact;
  std::string doctor_display_name;
  Role role = Role::kPatient;  // the caller's own role
  std::string invite_id;       // the caller's own invite
  std::optional<std::string> title;
  std::optional<std::string> external_ref;
};

// A newly issued invite: the token appears here once and nowhere else.
struct IssuedInvite {
  Invite invite;
  std::string token;
};

// JSON views for the REST layer (times as RFC 3339 UTC).
nlohmann::json toJson(const Room& room, int64_t now_us);
nlohmann::json toJson(const Invite& invite);  // without the hash
nlohmann::json toJson(const Session& session);
nlohmann::json toJson(const RoomDetail& detail, int64_t now_us);
nlohmann::json toJson(const ParticipantInfo& info);
nlohmann::json toJson(const IssuedInvite& issued);

}  // namespace medrelay::control

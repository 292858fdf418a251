#include "control/fhir_audit_event.h"

#include <optional>

// FHIR R4 AuditEvent (hl7.org/fhir/R4/auditevent.html) in the shape of IHE Basic Audit Log
// Patterns: type/subtype from DICOM PS3.16 (CID 400/401/403) or, for changes made through the
// REST API, the FHIR audit-event-type "rest" with a restful-interaction subtype.

namespace medrelay::control {
namespace {

struct Mapping {
  std::string_view type_system;
  std::string_view type_code;
  std::string_view type_display;
  std::string_view subtype_system;
  std::string_view subtype_code;
  std::string_view subtype_display;
  char action;  // C R U D E
};

constexpr Mapping rest(std::string_view interaction, char action) {
  return {
      kAuditEventTypeSystem, "rest", "RESTful Operation", kRestfulInteractionSystem, interaction,
      interaction,           action};
}
constexpr Mapping dicom(std::string_view code, std::string_view display, std::string_view sub,
                        std::string_view sub_display, char action) {
  return {kDicomSystem, code, display, kDicomSystem, sub, sub_display, action};
}

constexpr Mapping kLogin = dicom("110114", "User Authentication", "110122", "Login", 'E');
constexpr Mapping kLogout = dicom("110114", "User Authentication", "110123", "Logout", 'E');
constexpr Mapping kAppStart =
    dicom("110100", "Application Activity", "110120", "Application Start", 'E');
constexpr Mapping kRecordingStarted =
    dicom("110113", "Security Alert", "110134", "Audit Recording Started", 'E');

Mapping mappingOf(AccessEvent e) {
  switch (e) {
    case AccessEvent::kRoomCreated:
      return rest("create", 'C');
    case AccessEvent::kRoomEdited:
      return rest("update", 'U');
    case AccessEvent::kRoomCancelled:
      return rest("delete", 'D');
    case AccessEvent::kInviteIssued:
      return rest("create", 'C');
    case AccessEvent::kInviteRevoked:
      return rest("delete", 'D');
    case AccessEvent::kConsultationStarted:
    case AccessEvent::kConsultationEnded:
      return rest("update", 'U');
    case AccessEvent::kParticipantJoined:
    case AccessEvent::kJoinRefused:
    case AccessEvent::kApiAuthFailed:
      return kLogin;
    case AccessEvent::kParticipantLeft:
      return kLogout;
    case AccessEvent::kLogOpened:
    case AccessEvent::kLogReopened:
      return kAppStart;
    case AccessEvent::kClockSync:
      // No DICOM subtype names time synchronisation: the type alone, no subtype.
      return {kDicomSystem, "110100", "Application Activity", {}, {}, {}, 'E'};
    case AccessEvent::kKeyRotated:
      return dicom("110113", "Security Alert", "110129", "Security Configuration", 'E');
    case AccessEvent::kFilesPruned:
      return dicom("110101", "Audit Log Used", "110133", "Audit Recording Stopped", 'D');
    case AccessEvent::kFileLinked:
    case AccessEvent::kLogRecovered:
    case AccessEvent::kChainRestarted:
    case AccessEvent::kIoRecovered:
      return kRecordingStarted;
  }
  return kRecordingStarted;
}

// 0 success, 4 minor failure (a refusal: the system worked as meant), 8 serious failure.
std::string_view outcomeOf(AccessEvent e) {
  switch (e) {
    case AccessEvent::kJoinRefused:
    case AccessEvent::kApiAuthFailed:
    case AccessEvent::kLogRecovered:
      return "4";
    case AccessEvent::kChainRestarted:
      return "8";
    default:
      return "0";
  }
}

nlohmann::json coding(std::string_view system, std::string_view code, std::string_view display) {
  return {{"system", system}, {"code", code}, {"display", display}};
}

std::string hostOf(const std::string& remote) {
  // "ip:port" or "[v6]:port" → the address alone (agent.network.address).
  if (!remote.empty() && remote.front() == '[') {
    const auto close = remote.find(']');
    return close == std::string::npos ? remote : remote.substr(1, close - 1);
  }
  const auto colon = remote.rfind(':');
  return colon == std::string::npos ? remote : remote.substr(0, colon);
}

bool fromBackend(AccessEvent e) {
  switch (e) {
    case AccessEvent::kRoomCreated:
    case AccessEvent::kRoomEdited:
    case AccessEvent::kRoomCancelled:
    case AccessEvent::kInviteIssued:
    case AccessEvent::kInviteRevoked:
    case AccessEvent::kConsultationStarted:
    case AccessEvent::kConsultationEnded:
      return true;
    default:
      return false;
  }
}

}  // namespace

nlohmann::json toFhirAuditEvent(const AccessRecord& r) {
  const Mapping m = mappingOf(r.event);
  const std::string node = r.node.empty() ? std::string("medrelay") : r.node;
  nlohmann::json ev = {
      {"resourceType", "AuditEvent"},
      {"id", node + "-" + std::to_string(r.seq)},
      {"type", coding(m.type_system, m.type_code, m.type_display)},
      {"action", std::string(1, m.action)},
      {"recorded", formatTime(r.time_us)},
      {"outcome", outcomeOf(r.event)},
  };
  if (!m.subtype_code.empty()) {
    ev["subtype"] =
        nlohmann::json::array({coding(m.subtype_system, m.subtype_code, m.subtype_display)});
  }
  if (r.event == AccessEvent::kClockSync && r.detail.is_object() &&
      !r.detail.value("synced", true)) {
    ev["outcome"] = "4";  // the clock is not synchronised: record times may drift
  }
  if (!r.reason.empty()) ev["outcomeDesc"] = r.reason;

  nlohmann::json agents = nlohmann::json::array();
  // Who acted: the participant (by the backend's opaque subject, never a name), the backend
  // behind the API key, or an unidentified caller.
  const bool participant = !r.subject.empty() || !r.invite.empty() || !r.session.empty();
  if (participant || r.event == AccessEvent::kApiAuthFailed || fromBackend(r.event)) {
    nlohmann::json who = nlohmann::json::object();
    if (!r.subject.empty()) {
      who["identifier"] = {{"system", kSubjectIdentifierSystem}, {"value", r.subject}};
    } else if (fromBackend(r.event) && !participant) {
      who["display"] = "backend (API key)";
    } else {
      who["display"] = r.invite.empty() ? "unidentified caller" : "invite " + r.invite;
    }
    nlohmann::json a = {
        {"type",
         {{"coding",
           nlohmann::json::array({coding(kSecurityRoleTypeSystem, "humanuser", "human user")})}}},
        {"who", std::move(who)},
        {"requestor", true}};
    if (fromBackend(r.event) && r.subject.empty()) {
      a["type"] = {
          {"coding", nlohmann::json::array({coding(kDicomSystem, "110153", "Source Role ID")})}};
    }
    if (!r.role.empty()) a["role"] = nlohmann::json::array({{{"text", r.role}}});
    if (!r.remote.empty()) a["network"] = {{"address", hostOf(r.remote)}, {"type", "2"}};
    if (!r.session.empty()) a["altId"] = r.session;
    agents.push_back(std::move(a));
  }
  // The relay itself, which recorded the event.
  agents.push_back(
      {{"type",
        {{"coding", nlohmann::json::array({coding(kDicomSystem, "110150", "Application")})}}},
       {"who", {{"display", node}}},
       {"requestor", agents.empty()}});
  ev["agent"] = std::move(agents);

  ev["source"] = {
      {"site", "medrelay"},
      {"observer", {{"display", node}}},
      {"type", nlohmann::json::array({coding(kSourceTypeSystem, "4", "Application Server")})}};

  nlohmann::json entities = nlohmann::json::array();
  if (!r.room.empty()) {
    entities.push_back(
        {{"what", {{"identifier", {{"system", kRoomIdentifierSystem}, {"value", r.room}}}}},
         {"type", coding(kEntityTypeSystem, "2", "System Object")},
         {"description", "consultation room"}});
  }
  // The record itself: seq and MAC let a FHIR-side auditor cross-check the chain.
  nlohmann::json details = nlohmann::json::array();
  auto detail = [&](const char* type, const std::string& value) {
    if (!value.empty()) details.push_back({{"type", type}, {"valueString", value}});
  };
  detail("event", std::string(toString(r.event)));
  detail("seq", std::to_string(r.seq));
  detail("mac", r.mac);
  detail("prev_mac", r.prev_mac);
  detail("key_id", r.key_id);
  detail("invite", r.invite);
  detail("transport", r.transport);
  if (r.detail.is_object() && !r.detail.empty()) detail("detail", r.detail.dump());
  entities.push_back(
      {{"what",
        {{"identifier",
          {{"system", kRecordIdentifierSystem}, {"value", node + ":" + std::to_string(r.seq)}}}}},
       {"type", coding(kEntityTypeSystem, "4", "Other")},
       {"description", "medrelay access-log record"},
       {"detail", std::move(details)}});
  ev["entity"] = std::move(entities);
  return ev;
}

nlohmann::json toFhirBundle(const std::vector<AccessRecord>& records, const ChainHead& head) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& r : records) entries.push_back({{"resource", toFhirAuditEvent(r)}});
  nlohmann::json head_ext = {
      {"url", kChainHeadExtension},
      {"extension",
       nlohmann::json::array({{{"url", "seq"}, {"valueUnsignedInt", head.seq}},
                              {{"url", "mac"}, {"valueString", head.mac}},
                              {{"url", "time"}, {"valueInstant", formatTime(head.time_us)}}})}};
  return {{"resourceType", "Bundle"},
          {"type", "collection"},
          {"meta", {{"extension", nlohmann::json::array({std::move(head_ext)})}}},
          {"entry", std::move(entries)}};
}

}  // namespace medrelay::control

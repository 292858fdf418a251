#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "control/access_log_record.h"
#include "control/chain_head.h"

namespace medrelay::control {

// Code systems the AuditEvent uses (FHIR R4 AuditEvent, IHE BALP shape).
inline constexpr std::string_view kDicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr std::string_view kAuditEventTypeSystem =
    "http://terminology.hl7.org/CodeSystem/audit-event-type";
inline constexpr std::string_view kRestfulInteractionSystem =
    "http://hl7.org/fhir/restful-interaction";
inline constexpr std::string_view kSourceTypeSystem =
    "http://terminology.hl7.org/CodeSystem/security-source-type";
inline constexpr std::string_view kEntityTypeSystem =
    "http://terminology.hl7.org/CodeSystem/audit-entity-type";
inline constexpr std::string_view kSecurityRoleTypeSystem =
    "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
// Identifier systems and the extension URL of our own.
inline constexpr std::string_view kRoomIdentifierSystem = "urn:medrelay:room";
inline constexpr std::string_view kRecordIdentifierSystem = "urn:medrelay:access-log";
inline constexpr std::string_view kSubjectIdentifierSystem = "urn:medrelay:subject";
inline constexpr std::string_view kChainHeadExtension = "urn:medrelay:fhir:chain-head";

// One access-log record as a FHIR R4 AuditEvent (docs/access-log.md "FHIR AuditEvent": the
// mapping table). The record's seq, MAC, prev_mac and key_id travel in the entity that
// identifies the record, so a FHIR-side auditor can check the chain.
nlohmann::json toFhirAuditEvent(const AccessRecord& record);

// A Bundle (type collection) of AuditEvents with the chain head in Bundle.meta.extension.
nlohmann::json toFhirBundle(const std::vector<AccessRecord>& records, const ChainHead& head);

}  // namespace medrelay::control

#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/consultation.h"

namespace medrelay::control {

// Typed requests parsed from REST bodies. Every parse error is Error{code, "<field>: <why>"} with
// code invalid_json, unknown_field, missing_field or invalid_field (all 400), so the HTTP layer
// only maps codes to statuses (policyStatus in control/policy.h).

inline constexpr size_t kMaxIdBytes = 128;       // subject, institution id, given_by
inline constexpr size_t kMaxNameBytes = 128;     // doctor display name
inline constexpr size_t kMaxTitleBytes = 200;    // title
inline constexpr size_t kMaxContactBytes = 256;  // institution contact
inline constexpr size_t kMaxExternalRefBytes = 128;
inline constexpr int64_t kMaxWindowUs = 31ll * 24 * 3600 * 1'000'000;     // a window is ≤ 31 days
inline constexpr int64_t kDefaultOpenBeforeUs = 3600ll * 1'000'000;       // start − 1 h
inline constexpr int64_t kDefaultCloseAfterUs = 24ll * 3600 * 1'000'000;  // start + 24 h

struct CreateRoomRequest {
  RoomMode mode = RoomMode::kD2P;
  std::optional<int64_t> scheduled_start_us;  // nullopt: "now"
  std::optional<int64_t> opens_at_us;
  std::optional<int64_t> closes_at_us;
  std::string institution_id;
  std::string institution_contact;
  std::string doctor_display_name;
  std::string title;
  std::string external_ref;
};

struct PatchRoomRequest {
  std::optional<std::string> title;
  std::optional<std::string> doctor_display_name;
};

struct CreateInviteRequest {
  Role role = Role::kPatient;
  std::string subject;
  std::optional<ConsentRecord> consent;
};

struct RoomFilter {
  std::optional<RoomState> state;
  std::optional<int64_t> from_us;  // scheduled_start ≥ from
  std::optional<int64_t> to_us;    // scheduled_start < to
  std::string cursor;              // from the previous page's next_cursor
  size_t limit = 100;              // 1..500
};

Result<CreateRoomRequest> parseCreateRoom(const nlohmann::json& body);
// Errors besides the parse ones: start_time_immutable (scheduled_start, opens_at, closes_at) and
// field_immutable (mode, institution_id, institution_contact, external_ref), both 422.
Result<PatchRoomRequest> parsePatchRoom(const nlohmann::json& body);
Result<CreateInviteRequest> parseCreateInvite(const nlohmann::json& body);
// GET /v1/rooms query parameters: state, from, to, cursor, limit.
Result<RoomFilter> parseRoomFilter(const std::map<std::string, std::string>& query);

// RFC 3339 §5.6 date-time with Z or a numeric offset, any fraction length (truncated to µs).
std::optional<int64_t> parseRfc3339(std::string_view text);

// Field validators (Error names the field).
Result<void> validateId(std::string_view field, std::string_view value);  // [A-Za-z0-9._:@~-]
Result<void> validateText(std::string_view field, std::string_view value, size_t max_bytes,
                          bool required);  // UTF-8, no control characters
// The field named in a validation error's message ("title: too long" → "title").
std::string errorField(const Error& error);

}  // namespace medrelay::control

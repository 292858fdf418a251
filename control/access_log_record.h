#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace medrelay::control {

// What happened. The string names (toString) are the wire form; docs/access-log.md lists them.
enum class AccessEvent : uint8_t {
  kRoomCreated,
  kRoomEdited,
  kRoomCancelled,
  kInviteIssued,
  kInviteRevoked,
  kParticipantJoined,
  kParticipantLeft,
  kConsultationStarted,
  kConsultationEnded,
  kJoinRefused,
  kApiAuthFailed,
  kClockSync,  // the system clock's synchronisation state (control/clock_sync.h)
  kKeyRotated,
  // Written by the log itself.
  kLogOpened,       // first record of a new log (prev_mac = genesis)
  kFileLinked,      // first record of every rotated file
  kLogReopened,     // the log was opened again (process start)
  kLogRecovered,    // a torn tail was moved aside at open
  kChainRestarted,  // an operator chose to start a new chain after a broken one
  kFilesPruned,     // retention deleted old files (authorises the gap)
  kIoRecovered,     // writes succeed again after I/O errors
};

std::string_view toString(AccessEvent event);
std::optional<AccessEvent> parseAccessEvent(std::string_view name);

// End reasons of participant_left / consultation_ended (refusal reasons are free codes).
bool isEndReason(std::string_view reason);

inline constexpr size_t kMacBytes = 32;
using Mac = std::array<uint8_t, kMacBytes>;
// The chain starts from 32 zero bytes.
inline constexpr Mac kGenesisMac{};

// One access-log record. There is deliberately no field for names, SDP or tokens.
struct AccessRecord {
  // Assigned by the writer.
  uint64_t seq = 0;
  int64_t time_us = 0;  // UTC microseconds since the Unix epoch
  std::string node;
  std::string key_id;
  std::string prev_mac;  // hex
  std::string mac;       // hex
  // Set by the caller; empty strings are omitted from the record.
  AccessEvent event = AccessEvent::kRoomCreated;
  std::string room;
  std::string invite;
  std::string role;
  std::string subject;  // opaque subject id from the backend
  std::string session;
  std::string remote;  // remote address "ip:port"
  std::string transport;
  std::string reason;
  nlohmann::json detail;  // null or a small object (no floating-point numbers)
};

// RFC 3339 UTC with exactly six fractional digits: 2026-11-21T10:00:00.123456Z.
std::string formatTime(int64_t time_us);
std::optional<int64_t> parseTime(std::string_view text);
// Also accepts 2026-11-21, 2026-11-21T10:00:00Z and any fraction length (for CLI input).
std::optional<int64_t> parseTimeLoose(std::string_view text);

// Canonical JSON (the subset of RFC 8785 JCS we use): object keys sorted by bytes, no
// whitespace, minimal string escaping, integers only. Returns nullopt for floats.
std::optional<std::string> canonicalJson(const nlohmann::json& value);

nlohmann::json toJson(const AccessRecord& record, bool with_mac);
// The MAC input body: canonical JSON of the record without "mac".
std::string canonicalBody(const AccessRecord& record);
// The stored line (without the trailing newline): canonical JSON of the record with "mac".
std::string toLine(const AccessRecord& record);

// Parses one stored line strictly: it must be exactly the canonical form of what it contains.
// Error codes: unparsable, non_canonical.
Result<AccessRecord> parseLine(std::string_view line);

// Checks caller-supplied fields before they are queued (lengths, UTF-8, detail shape).
Result<void> validateForAppend(const AccessRecord& record);

// HMAC-SHA256(key, prev_mac ‖ body).
Mac computeMac(std::span<const uint8_t> key, const Mac& prev, std::string_view body);

std::string toHex(std::span<const uint8_t> bytes);
std::optional<Mac> macFromHex(std::string_view hex);

}  // namespace medrelay::control

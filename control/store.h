#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/consultation.h"
#include "control/consultation_requests.h"

namespace medrelay::control {

// One page of GET /v1/rooms.
struct RoomPage {
  std::vector<Room> rooms;
  std::string next_cursor;  // empty on the last page
};

// Durable state of the control plane: rooms, invites (with consent records; hashes, never
// tokens) and live sessions. SqliteStore is the single-node implementation; a Redis-backed one
// comes with clustering. Every method is synchronous and runs on the control thread; every
// multi-row change is atomic. Errors: store_error (500), not_found where stated.
class Store {
 public:
  virtual ~Store() = default;

  virtual Result<void> insertRoom(const Room& room) = 0;
  virtual Result<std::optional<Room>> room(const std::string& id) = 0;
  // Title, doctor display name, state, admitted/ended times and end reason.
  virtual Result<void> updateRoom(const Room& room) = 0;
  // Removes a room that was never announced (its creation record could not be written).
  virtual Result<void> deleteRoom(const std::string& id) = 0;
  // Sorted by (scheduled_start, id). `now_us` tells scheduled from open for the state filter.
  virtual Result<RoomPage> listRooms(const RoomFilter& filter, int64_t now_us) = 0;
  // Live rooms (scheduled, in_consultation) whose window closed at or before `now_us`.
  virtual Result<std::vector<Room>> roomsClosedBy(int64_t now_us) = 0;

  virtual Result<void> insertInvite(const Invite& invite) = 0;   // with its consent record
  virtual Result<void> deleteInvite(const std::string& id) = 0;  // never-announced invites
  virtual Result<std::optional<Invite>> invite(const std::string& id) = 0;
  virtual Result<std::optional<Invite>> inviteByHash(const std::string& token_hash) = 0;
  virtual Result<std::vector<Invite>> invitesOfRoom(const std::string& room_id) = 0;
  virtual Result<void> revokeInvite(const std::string& id, int64_t at_us) = 0;
  // Invites no longer live that expire after `now_us`: revoked, or of a cancelled or ended room
  // (what TURN keeps refusing until they expire: DeadInvites).
  virtual Result<std::vector<Invite>> deadInvites(int64_t now_us) = 0;

  // Room state changes that end sessions, in one transaction: the room row, and (when
  // revoke_invites) every live invite revoked, and every session of the room removed.
  virtual Result<void> closeRoom(const Room& room, bool revoke_invites) = 0;

  virtual Result<void> insertSession(const Session& session) = 0;
  // Removes `old_id` and inserts `session` atomically (a takeover).
  virtual Result<void> replaceSession(const std::string& old_id, const Session& session) = 0;
  virtual Result<void> removeSession(const std::string& id) = 0;
  virtual Result<void> setSessionStale(const std::string& id, bool stale) = 0;
  virtual Result<std::optional<Session>> session(const std::string& id) = 0;
  virtual Result<std::vector<Session>> sessionsOfRoom(const std::string& room_id) = 0;
  virtual Result<std::vector<Session>> sessionsOfInvite(const std::string& invite_id) = 0;
  virtual Result<std::vector<Session>> sessionsOfSubject(const std::string& subject) = 0;
  // Returns every session and clears the table (at start: they were live before a restart).
  virtual Result<std::vector<Session>> takeAllSessions() = 0;
};

}  // namespace medrelay::control

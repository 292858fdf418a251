#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/access_log_record.h"
#include "control/consultation.h"
#include "control/consultation_requests.h"

namespace medrelay::control {

// One page of GET /v1/rooms.
struct RoomPage {
  std::vector<Room> rooms;
  std::string next_cursor;  // empty on the last page
};

// An access-log record the store keeps until the log has it (docs/access-log.md, "Ordering and
// recovery"). It is written in the same transaction as the change it describes, so after a crash
// start-up finds every change whose record may be missing.
struct PendingRecord {
  int64_t id = 0;           // assigned by the store, increasing
  uint64_t after_seq = 0;   // the log's last durable sequence number when the change was made
  int64_t occurred_us = 0;  // when the change was made (UTC µs)
  AccessRecord record;      // the caller's fields (event, room, invite, ..., detail)
};

// Which pending records an undone change takes with it.
enum class PendingOf : uint8_t { kRoom, kInvite, kSession };

// Several store calls as one atomic change: commit() makes them durable together; destroyed
// without commit() (an early return) it rolls them back. Calls that are transactions of their
// own run inside it.
class StoreTransaction {
 public:
  virtual ~StoreTransaction() = default;
  virtual Result<void> commit() = 0;
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

  // One transaction over the calls made until its commit(); not nested.
  virtual std::unique_ptr<StoreTransaction> begin() = 0;

  // Pending access-log records. insertPending returns the new id.
  virtual Result<int64_t> insertPending(const PendingRecord& pending) = 0;
  virtual Result<void> removePending(const std::vector<int64_t>& ids) = 0;
  // Every pending record of one room, invite or session.
  virtual Result<void> removePendingOf(PendingOf kind, const std::string& id) = 0;
  // In id order, those with an id above `after_id`, at most `limit`.
  virtual Result<std::vector<PendingRecord>> pendingRecords(int64_t after_id, size_t limit) = 0;
};

}  // namespace medrelay::control

#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/c_ptr.h"
#include "control/store.h"

namespace medrelay::control {

using SqliteDb = CPtr<sqlite3, sqlite3_close_v2>;
using SqliteStmt = CPtr<sqlite3_stmt, sqlite3_finalize>;

struct SqliteStoreStats {
  uint64_t writes = 0;    // committed write statements or transactions
  uint64_t write_us = 0;  // wall time spent in them (fsync included)
  uint64_t max_write_us = 0;
};

// The single-node Store on SQLite: WAL journal, synchronous=FULL (a committed change survives a
// power loss), foreign keys on, versioned schema (schema_version table, migrations applied in
// order at open), statements prepared once and cached.
class SqliteStore final : public Store {
 public:
  // Errors: store_open (cannot open/configure), store_version (schema newer than this binary).
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path);
  explicit SqliteStore(SqliteDb db) : db_(std::move(db)) {}

  static int schemaVersion();  // the version this binary migrates to
  const SqliteStoreStats& stats() const { return stats_; }

  Result<void> insertRoom(const Room& room) override;
  Result<std::optional<Room>> room(const std::string& id) override;
  Result<void> updateRoom(const Room& room) override;
  Result<void> deleteRoom(const std::string& id) override;
  Result<RoomPage> listRooms(const RoomFilter& filter, int64_t now_us) override;
  Result<std::vector<Room>> roomsClosedBy(int64_t now_us) override;

  Result<void> insertInvite(const Invite& invite) override;
  Result<void> deleteInvite(const std::string& id) override;
  Result<std::optional<Invite>> invite(const std::string& id) override;
  Result<std::optional<Invite>> inviteByHash(const std::string& token_hash) override;
  Result<std::vector<Invite>> invitesOfRoom(const std::string& room_id) override;
  Result<void> revokeInvite(const std::string& id, int64_t at_us) override;
  Result<std::vector<Invite>> deadInvites(int64_t now_us) override;

  Result<void> closeRoom(const Room& room, bool revoke_invites) override;

  Result<void> insertSession(const Session& session) override;
  Result<void> replaceSession(const std::string& old_id, const Session& session) override;
  Result<void> removeSession(const std::string& id) override;
  Result<void> setSessionStale(const std::string& id, bool stale) override;
  Result<std::optional<Session>> session(const std::string& id) override;
  Result<std::vector<Session>> sessionsOfRoom(const std::string& room_id) override;
  Result<std::vector<Session>> sessionsOfInvite(const std::string& invite_id) override;
  Result<std::vector<Session>> sessionsOfSubject(const std::string& subject) override;
  Result<std::vector<Session>> takeAllSessions() override;

  std::unique_ptr<StoreTransaction> begin() override;
  Result<int64_t> insertPending(const PendingRecord& pending) override;
  Result<void> removePending(const std::vector<int64_t>& ids) override;
  Result<void> removePendingOf(PendingOf kind, const std::string& id) override;
  Result<std::vector<PendingRecord>> pendingRecords(int64_t after_id, size_t limit) override;

 private:
  class Query;
  class Transaction;
  class CallerTransaction;

  Result<void> migrate();
  Result<void> exec(const char* sql);
  Query query(const char* sql);
  Error error(const char* what) const;
  // One statement: prepared once (cached), args bound to ?1, ?2, …, stepped, reset.
  template <typename... Args>
  Result<void> run(const char* sql, const Args&... args);
  // Every row of a SELECT, each made by read(const Query&); or only the first.
  template <typename T, typename Read, typename... Args>
  Result<std::vector<T>> rows(const char* sql, Read read, const Args&... args);
  template <typename T, typename Read, typename... Args>
  Result<std::optional<T>> row(const char* sql, Read read, const Args&... args);
  // A write counted in stats_; writeTransaction runs its statements in one BEGIN IMMEDIATE …
  // COMMIT (rolled back when one fails; only committed ones are counted).
  template <typename Fn>
  Result<void> timedWrite(Fn&& write);
  template <typename Fn>
  Result<void> writeTransaction(Fn&& statements);
  // SELECTs by one column (a caller's constant, never input).
  Result<std::vector<Invite>> invitesWhere(std::string_view column, const std::string& value);
  Result<std::vector<Session>> sessionsWhere(std::string_view column, const std::string& value);
  Result<void> insertSessionRow(const Session& s);
  void countWrite(int64_t started_us);

  SqliteDb db_;
  std::map<std::string, SqliteStmt, std::less<>> statements_;
  SqliteStoreStats stats_;
};

}  // namespace medrelay::control

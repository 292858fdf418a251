#include "control/sqlite_store.h"

#include <array>
#include <charconv>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "common/logging.h"
#include "control/sqlite_schema.h"

namespace medrelay::control {
namespace {

int64_t steadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kRoomColumns =
    "id, mode, scheduled_start, opens_at, closes_at, institution_id, institution_contact, "
    "doctor_display_name, title, external_ref, state, created, admitted, ended, end_reason";
constexpr const char* kInviteSelect =
    "SELECT i.id, i.room_id, i.role, i.subject, i.token_hash, i.created, i.expires, i.revoked, "
    "c.given_by, c.given_at, c.role FROM invites i LEFT JOIN consents c ON c.invite_id = i.id ";
constexpr const char* kSessionSelect =
    "SELECT id, room_id, invite_id, role, subject, direction, transport, remote, started, stale "
    "FROM sessions ";

}  // namespace

// One use of a cached prepared statement: binds, steps, and resets it when it goes away.
class SqliteStore::Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Query() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query(Query&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}

  Query& bind(int i, int64_t v) {
    if (stmt_ != nullptr) sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Query& bind(int i, std::string_view v) {
    if (stmt_ != nullptr) {
      sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    return *this;
  }
  Query& bindNull(int i) {
    if (stmt_ != nullptr) sqlite3_bind_null(stmt_, i);
    return *this;
  }
  template <typename T>
  Query& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bindNull(i);
  }
  // Binds args to ?1, ?2, … in order.
  template <typename... Args>
  Query& bindAll(const Args&... args) {
    [[maybe_unused]] int i = 0;
    (bind(++i, args), ...);
    return *this;
  }
  int step() { return stmt_ == nullptr ? SQLITE_ERROR : sqlite3_step(stmt_); }
  Result<void> run() {
    const int rc = step();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
    return makeError("store_error", std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  Error error() const {
    return makeError("store_error", std::string("sqlite: ") + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE … COMMIT; rolls back unless committed. Inside a caller's transaction
// (begin()) it is a savepoint, so its statements stay atomic and commit with the caller's.
class SqliteStore::Transaction {
 public:
  explicit Transaction(SqliteStore& store)
      : store_(store), nested_(sqlite3_get_autocommit(store.db_.get()) == 0) {
    began_ = store_.exec(nested_ ? "SAVEPOINT nested" : "BEGIN IMMEDIATE").ok();
  }
  ~Transaction() {
    if (began_ && !done_) {
      (void)store_.exec(nested_ ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK");
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  bool began() const { return began_; }
  Result<void> commit() {
    auto r = store_.exec(nested_ ? "RELEASE nested" : "COMMIT");
    done_ = r.ok();  // a failed COMMIT is rolled back by the destructor
    return r;
  }

 private:
  SqliteStore& store_;
  bool nested_;
  bool began_ = false;
  bool done_ = false;
};

// The Store-level transaction handed to callers (begin()), counted as one write.
class SqliteStore::CallerTransaction final : public StoreTransaction {
 public:
  explicit CallerTransaction(SqliteStore& store)
      : store_(store), startedUs_(steadyUs()), tx_(store) {}
  Result<void> commit() override {
    if (!tx_.began()) return store_.error("begin");
    auto r = tx_.commit();
    if (r.ok()) store_.countWrite(startedUs_);
    return r;
  }

 private:
  SqliteStore& store_;
  int64_t startedUs_;
  Transaction tx_;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    return makeError("store_open", "cannot open " + path.string() + ": " +
                                       (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  auto store = std::make_unique<SqliteStore>(std::move(db));
  sqlite3_busy_timeout(store->db_.get(), 2000);
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto r = store->exec(pragma); !r.ok()) {
      return makeError("store_open", std::string(pragma) + ": " + r.error().message);
    }
  }
  // journal_mode answers with the mode it ended up in (e.g. memory for ":memory:").
  if (auto r = store->migrate(); !r.ok()) return r.error();
  return store;
}

int SqliteStore::schemaVersion() {
  return static_cast<int>(kMigrations.size());
}

Result<void> SqliteStore::exec(const char* sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg);
  CPtr<char, sqlite3_free> owned(msg);
  if (rc != SQLITE_OK) {
    return makeError("store_error", std::string("sqlite: ") + (msg != nullptr ? msg : "error"));
  }
  return {};
}

Error SqliteStore::error(const char* what) const {
  return makeError("store_error", std::string(what) + ": " + sqlite3_errmsg(db_.get()));
}

SqliteStore::Query SqliteStore::query(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      log::get("store")->error("prepare failed: {}", sqlite3_errmsg(db_.get()));
      return Query(db_.get(), nullptr);
    }
    it = statements_.emplace(sql, SqliteStmt(stmt)).first;
  }
  return Query(db_.get(), it->second.get());
}

Result<void> SqliteStore::migrate() {
  if (auto r = exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      !r.ok()) {
    return r;
  }
  int64_t version = 0;
  {
    auto q = query("SELECT version FROM schema_version");
    if (q.step() == SQLITE_ROW) version = q.i64(0);
  }
  if (version > schemaVersion()) {
    return makeError("store_version", "database schema version " + std::to_string(version) +
                                          " is newer than this binary's " +
                                          std::to_string(schemaVersion()));
  }
  for (auto v = version; v < schemaVersion(); ++v) {
    Transaction tx(*this);
    if (!tx.began()) return error("begin migration");
    if (auto r = exec(kMigrations[static_cast<size_t>(v)]); !r.ok()) return r;
    if (auto r = exec("DELETE FROM schema_version"); !r.ok()) return r;
    if (auto r = run("INSERT INTO schema_version (version) VALUES (?)", v + 1); !r.ok()) return r;
    if (auto r = tx.commit(); !r.ok()) return r;
    log::get("store")->info("store schema migrated to version {}", v + 1);
  }
  return {};
}

void SqliteStore::countWrite(int64_t started_us) {
  const auto us = static_cast<uint64_t>(steadyUs() - started_us);
  ++stats_.writes;
  stats_.write_us += us;
  if (us > stats_.max_write_us) stats_.max_write_us = us;
}

template <typename... Args>
Result<void> SqliteStore::run(const char* sql, const Args&... args) {
  return query(sql).bindAll(args...).run();
}

template <typename T, typename Read, typename... Args>
Result<std::vector<T>> SqliteStore::rows(const char* sql, Read read, const Args&... args) {
  auto q = query(sql);
  q.bindAll(args...);
  std::vector<T> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back(read(q));
  if (rc != SQLITE_DONE) return q.error();
  return out;
}

template <typename T, typename Read, typename... Args>
Result<std::optional<T>> SqliteStore::row(const char* sql, Read read, const Args&... args) {
  auto q = query(sql);
  q.bindAll(args...);
  const int rc = q.step();
  if (rc == SQLITE_ROW) return std::optional<T>(read(q));
  if (rc == SQLITE_DONE) return std::optional<T>();
  return q.error();
}

template <typename Fn>
Result<void> SqliteStore::timedWrite(Fn&& write) {
  const auto t0 = steadyUs();
  auto res = write();
  countWrite(t0);
  return res;
}

template <typename Fn>
Result<void> SqliteStore::writeTransaction(Fn&& statements) {
  const auto t0 = steadyUs();
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  if (auto r = statements(); !r.ok()) return r;
  auto res = tx.commit();
  countWrite(t0);
  return res;
}

namespace {

Room readRoom(const auto& q) {
  Room r;
  r.id = q.text(0);
  r.mode = parseRoomMode(q.text(1)).value_or(RoomMode::kD2P);
  r.scheduled_start_us = q.i64(2);
  r.opens_at_us = q.i64(3);
  r.closes_at_us = q.i64(4);
  r.institution_id = q.text(5);
  r.institution_contact = q.text(6);
  r.doctor_display_name = q.text(7);
  r.title = q.text(8);
  r.external_ref = q.text(9);
  r.state = parseRoomState(q.text(10)).value_or(RoomState::kCancelled);
  r.created_us = q.i64(11);
  r.admitted_us = q.i64(12);
  r.ended_us = q.i64(13);
  r.end_reason = q.text(14);
  return r;
}

Invite readInvite(const auto& q) {
  Invite i;
  i.id = q.text(0);
  i.room_id = q.text(1);
  i.role = parseRole(q.text(2)).value_or(Role::kSupporter);
  i.subject = q.text(3);
  i.token_hash = q.text(4);
  i.created_us = q.i64(5);
  i.expires_us = q.i64(6);
  i.revoked_us = q.i64(7);
  if (!q.isNull(8)) {
    i.consent = ConsentRecord{q.text(8), q.i64(9), parseRole(q.text(10)).value_or(i.role)};
  }
  return i;
}

Session readSession(const auto& q) {
  Session s;
  s.id = q.text(0);
  s.room_id = q.text(1);
  s.invite_id = q.text(2);
  s.role = parseRole(q.text(3)).value_or(Role::kSupporter);
  s.subject = q.text(4);
  s.direction = parseSessionKind(q.text(5)).value_or(SessionKind::kSubscribe);
  s.transport = q.text(6);
  s.remote = q.text(7);
  s.started_us = q.i64(8);
  s.stale = q.i64(9) != 0;
  return s;
}

int64_t flag(bool b) {
  return b ? 1 : 0;
}

// The row with a unique key, if any.
template <typename T>
Result<std::optional<T>> first(Result<std::vector<T>> rows) {
  if (!rows.ok()) return rows.error();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

}  // namespace

Result<void> SqliteStore::insertRoom(const Room& r) {
  static const std::string sql = std::string("INSERT INTO rooms (") + kRoomColumns +
                                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  return timedWrite([&] {
    return run(sql.c_str(), r.id, toString(r.mode), r.scheduled_start_us, r.opens_at_us,
               r.closes_at_us, r.institution_id, r.institution_contact, r.doctor_display_name,
               r.title, r.external_ref, toString(r.state), r.created_us, r.admitted_us, r.ended_us,
               r.end_reason);
  });
}

Result<std::optional<Room>> SqliteStore::room(const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE id = ?";
  return row<Room>(sql.c_str(), readRoom<Query>, id);
}

Result<void> SqliteStore::updateRoom(const Room& r) {
  return timedWrite([&] {
    return run(
        "UPDATE rooms SET title = ?, doctor_display_name = ?, state = ?, admitted = ?, "
        "ended = ?, end_reason = ? WHERE id = ?",
        r.title, r.doctor_display_name, toString(r.state), r.admitted_us, r.ended_us, r.end_reason,
        r.id);
  });
}

Result<void> SqliteStore::deleteRoom(const std::string& id) {
  return run("DELETE FROM rooms WHERE id = ?", id);
}

Result<RoomPage> SqliteStore::listRooms(const RoomFilter& f, int64_t now_us) {
  static const std::string sql =
      std::string("SELECT ") + kRoomColumns +
      " FROM rooms WHERE (?1 IS NULL OR state = ?1)"
      " AND (?2 = 0 OR (?2 = 1) = (opens_at <= ?3 AND ?3 < closes_at))"
      " AND (?4 IS NULL OR scheduled_start >= ?4) AND (?5 IS NULL OR scheduled_start < ?5)"
      " AND (scheduled_start > ?6 OR (scheduled_start = ?6 AND id > ?7))"
      " ORDER BY scheduled_start, id LIMIT ?8";
  int64_t after_start = std::numeric_limits<int64_t>::min();
  std::string after_id;
  if (!f.cursor.empty()) {
    const size_t colon = f.cursor.find(':');
    if (colon == std::string::npos) return makeError("invalid_field", "cursor: malformed");
    const char* b = f.cursor.data();
    if (auto [ptr, ec] = std::from_chars(b, b + colon, after_start);
        ec != std::errc() || ptr != b + colon) {
      return makeError("invalid_field", "cursor: malformed");
    }
    after_id = f.cursor.substr(colon + 1);
  }
  std::optional<std::string_view> state;
  int64_t open_filter = 0;  // 1: only open rooms, 2: only scheduled rooms outside their window
  if (f.state == RoomState::kOpen || f.state == RoomState::kScheduled) {
    state = toString(RoomState::kScheduled);
    open_filter = f.state == RoomState::kOpen ? 1 : 2;
  } else if (f.state) {
    state = toString(*f.state);
  }
  auto rooms = rows<Room>(sql.c_str(), readRoom<Query>, state, open_filter, now_us, f.from_us,
                          f.to_us, after_start, after_id, static_cast<int64_t>(f.limit + 1));
  if (!rooms.ok()) return rooms.error();
  RoomPage page;
  page.rooms = std::move(rooms).value();
  if (page.rooms.size() > f.limit) {
    page.rooms.pop_back();
    const Room& last = page.rooms.back();
    page.next_cursor = std::to_string(last.scheduled_start_us) + ":" + last.id;
  }
  return page;
}

Result<std::vector<Room>> SqliteStore::roomsClosedBy(int64_t now_us) {
  static const std::string sql = std::string("SELECT ") + kRoomColumns +
                                 " FROM rooms WHERE state IN ('scheduled', 'in_consultation')"
                                 " AND closes_at <= ? ORDER BY closes_at";
  return rows<Room>(sql.c_str(), readRoom<Query>, now_us);
}

Result<void> SqliteStore::insertInvite(const Invite& i) {
  return writeTransaction([&]() -> Result<void> {
    if (auto r = run("INSERT INTO invites (id, room_id, role, subject, token_hash, created, "
                     "expires, revoked) VALUES (?,?,?,?,?,?,?,?)",
                     i.id, i.room_id, toString(i.role), i.subject, i.token_hash, i.created_us,
                     i.expires_us, i.revoked_us);
        !r.ok() || !i.consent) {
      return r;
    }
    return run("INSERT INTO consents (invite_id, given_by, given_at, role) VALUES (?,?,?,?)", i.id,
               i.consent->given_by, i.consent->given_at_us, toString(i.consent->role));
  });
}

Result<void> SqliteStore::deleteInvite(const std::string& id) {
  return run("DELETE FROM invites WHERE id = ?", id);
}

Result<std::vector<Invite>> SqliteStore::invitesWhere(std::string_view column,
                                                      const std::string& value) {
  const std::string sql = std::string(kInviteSelect) + "WHERE i." + std::string(column) +
                          " = ? ORDER BY i.created, i.id";
  return rows<Invite>(sql.c_str(), readInvite<Query>, value);
}

Result<std::optional<Invite>> SqliteStore::invite(const std::string& id) {
  return first(invitesWhere("id", id));
}

Result<std::optional<Invite>> SqliteStore::inviteByHash(const std::string& token_hash) {
  return first(invitesWhere("token_hash", token_hash));
}

Result<std::vector<Invite>> SqliteStore::invitesOfRoom(const std::string& room_id) {
  return invitesWhere("room_id", room_id);
}

// A scan of the invites table: run once at start-up.
Result<std::vector<Invite>> SqliteStore::deadInvites(int64_t now_us) {
  static const std::string sql =
      std::string(kInviteSelect) +
      "JOIN rooms r ON r.id = i.room_id WHERE i.expires > ? AND (i.revoked != 0 OR r.state IN "
      "('cancelled', 'ended')) ORDER BY i.expires, i.id";
  return rows<Invite>(sql.c_str(), readInvite<Query>, now_us);
}

Result<void> SqliteStore::revokeInvite(const std::string& id, int64_t at_us) {
  return writeTransaction([&]() -> Result<void> {
    if (auto r = run("UPDATE invites SET revoked = ? WHERE id = ? AND revoked = 0", at_us, id);
        !r.ok()) {
      return r;
    }
    return run("DELETE FROM sessions WHERE invite_id = ?", id);
  });
}

Result<void> SqliteStore::closeRoom(const Room& room, bool revoke_invites) {
  return writeTransaction([&]() -> Result<void> {
    if (auto r = updateRoom(room); !r.ok()) return r;
    if (revoke_invites) {
      if (auto r = run("UPDATE invites SET revoked = ? WHERE room_id = ? AND revoked = 0",
                       room.ended_us, room.id);
          !r.ok()) {
        return r;
      }
    }
    return run("DELETE FROM sessions WHERE room_id = ?", room.id);
  });
}

Result<void> SqliteStore::insertSessionRow(const Session& s) {
  return run(
      "INSERT INTO sessions (id, room_id, invite_id, role, subject, direction, transport, "
      "remote, started, stale) VALUES (?,?,?,?,?,?,?,?,?,?)",
      s.id, s.room_id, s.invite_id, toString(s.role), s.subject, toString(s.direction), s.transport,
      s.remote, s.started_us, flag(s.stale));
}

Result<void> SqliteStore::insertSession(const Session& s) {
  return timedWrite([&] { return insertSessionRow(s); });
}

Result<void> SqliteStore::replaceSession(const std::string& old_id, const Session& s) {
  return writeTransaction([&]() -> Result<void> {
    if (auto r = run("DELETE FROM sessions WHERE id = ?", old_id); !r.ok()) return r;
    return insertSessionRow(s);
  });
}

Result<void> SqliteStore::removeSession(const std::string& id) {
  return timedWrite([&] { return run("DELETE FROM sessions WHERE id = ?", id); });
}

Result<void> SqliteStore::setSessionStale(const std::string& id, bool stale) {
  return timedWrite(
      [&] { return run("UPDATE sessions SET stale = ? WHERE id = ?", flag(stale), id); });
}

Result<std::vector<Session>> SqliteStore::sessionsWhere(std::string_view column,
                                                        const std::string& value) {
  const std::string sql =
      std::string(kSessionSelect) + "WHERE " + std::string(column) + " = ? ORDER BY started";
  return rows<Session>(sql.c_str(), readSession<Query>, value);
}

Result<std::optional<Session>> SqliteStore::session(const std::string& id) {
  return first(sessionsWhere("id", id));
}

Result<std::vector<Session>> SqliteStore::sessionsOfRoom(const std::string& room_id) {
  return sessionsWhere("room_id", room_id);
}

Result<std::vector<Session>> SqliteStore::sessionsOfInvite(const std::string& invite_id) {
  return sessionsWhere("invite_id", invite_id);
}

Result<std::vector<Session>> SqliteStore::sessionsOfSubject(const std::string& subject) {
  return sessionsWhere("subject", subject);
}

std::unique_ptr<StoreTransaction> SqliteStore::begin() {
  return std::make_unique<CallerTransaction>(*this);
}

namespace {

// The record's fields other than the indexed columns, as JSON.
std::string pendingFields(const AccessRecord& r) {
  nlohmann::json j = {{"role", r.role},           {"subject", r.subject}, {"remote", r.remote},
                      {"transport", r.transport}, {"reason", r.reason},   {"detail", r.detail}};
  return j.dump();
}

PendingRecord readPending(const auto& q) {
  PendingRecord p;
  p.id = q.i64(0);
  p.after_seq = static_cast<uint64_t>(q.i64(1));
  p.occurred_us = q.i64(2);
  p.record.event = parseAccessEvent(q.text(3)).value_or(AccessEvent::kJoinRefused);
  p.record.room = q.text(4);
  p.record.invite = q.text(5);
  p.record.session = q.text(6);
  const auto j = nlohmann::json::parse(q.text(7), nullptr, false);
  if (j.is_object()) {
    p.record.role = j.value("role", "");
    p.record.subject = j.value("subject", "");
    p.record.remote = j.value("remote", "");
    p.record.transport = j.value("transport", "");
    p.record.reason = j.value("reason", "");
    if (j.contains("detail")) p.record.detail = j["detail"];
  }
  return p;
}

}  // namespace

Result<int64_t> SqliteStore::insertPending(const PendingRecord& p) {
  const auto t0 = steadyUs();
  auto r =
      run("INSERT INTO pending_records (after_seq, occurred, event, room, invite, session, fields) "
          "VALUES (?,?,?,?,?,?,?)",
          static_cast<int64_t>(p.after_seq), p.occurred_us, toString(p.record.event), p.record.room,
          p.record.invite, p.record.session, pendingFields(p.record));
  countWrite(t0);
  if (!r.ok()) return r.error();
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_.get()));
}

Result<void> SqliteStore::removePending(const std::vector<int64_t>& ids) {
  if (ids.empty()) return {};
  return writeTransaction([&]() -> Result<void> {
    for (const int64_t id : ids) {
      if (auto r = run("DELETE FROM pending_records WHERE id = ?", id); !r.ok()) return r;
    }
    return {};
  });
}

Result<void> SqliteStore::removePendingOf(PendingOf kind, const std::string& id) {
  switch (kind) {
    case PendingOf::kRoom:
      return timedWrite([&] { return run("DELETE FROM pending_records WHERE room = ?", id); });
    case PendingOf::kInvite:
      return timedWrite([&] { return run("DELETE FROM pending_records WHERE invite = ?", id); });
    case PendingOf::kSession:
      return timedWrite([&] { return run("DELETE FROM pending_records WHERE session = ?", id); });
  }
  return {};
}

Result<std::vector<PendingRecord>> SqliteStore::pendingRecords(int64_t after_id, size_t limit) {
  return rows<PendingRecord>(
      "SELECT id, after_seq, occurred, event, room, invite, session, fields FROM pending_records "
      "WHERE id > ? ORDER BY id LIMIT ?",
      readPending<Query>, after_id, static_cast<int64_t>(limit));
}

Result<std::vector<Session>> SqliteStore::takeAllSessions() {
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  static const std::string sql = std::string(kSessionSelect) + "ORDER BY started";
  auto all = rows<Session>(sql.c_str(), readSession<Query>);
  if (!all.ok()) return all;
  if (auto r = exec("DELETE FROM sessions"); !r.ok()) return r.error();
  if (auto r = tx.commit(); !r.ok()) return r.error();
  return all;
}

}  // namespace medrelay::control

#include "control/sqlite_store.h"

#include <array>
#include <charconv>
#include <chrono>
#include <limits>

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

// BEGIN IMMEDIATE … COMMIT; rolls back unless committed.
class SqliteStore::Transaction {
 public:
  explicit Transaction(SqliteStore& store) : store_(store) {
    began_ = store_.exec("BEGIN IMMEDIATE").ok();
  }
  ~Transaction() {
    if (began_ && !done_) (void)store_.exec("ROLLBACK");
  }
  bool began() const { return began_; }
  Result<void> commit() {
    auto r = store_.exec("COMMIT");
    done_ = r.ok();  // a failed COMMIT is rolled back by the destructor
    return r;
  }

 private:
  SqliteStore& store_;
  bool began_ = false;
  bool done_ = false;
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
    if (auto r = query("INSERT INTO schema_version (version) VALUES (?)").bind(1, v + 1).run();
        !r.ok()) {
      return r;
    }
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

}  // namespace

Result<void> SqliteStore::insertRoom(const Room& r) {
  static const std::string sql = std::string("INSERT INTO rooms (") + kRoomColumns +
                                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  const auto t0 = steadyUs();
  auto res = query(sql.c_str())
                 .bind(1, r.id)
                 .bind(2, toString(r.mode))
                 .bind(3, r.scheduled_start_us)
                 .bind(4, r.opens_at_us)
                 .bind(5, r.closes_at_us)
                 .bind(6, r.institution_id)
                 .bind(7, r.institution_contact)
                 .bind(8, r.doctor_display_name)
                 .bind(9, r.title)
                 .bind(10, r.external_ref)
                 .bind(11, toString(r.state))
                 .bind(12, r.created_us)
                 .bind(13, r.admitted_us)
                 .bind(14, r.ended_us)
                 .bind(15, r.end_reason)
                 .run();
  countWrite(t0);
  return res;
}

Result<std::optional<Room>> SqliteStore::room(const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kRoomColumns + " FROM rooms WHERE id = ?";
  auto q = query(sql.c_str());
  q.bind(1, id);
  const int rc = q.step();
  if (rc == SQLITE_ROW) return std::optional<Room>(readRoom(q));
  if (rc == SQLITE_DONE) return std::optional<Room>();
  return q.error();
}

Result<void> SqliteStore::updateRoom(const Room& r) {
  const auto t0 = steadyUs();
  auto res = query(
                 "UPDATE rooms SET title = ?, doctor_display_name = ?, state = ?, admitted = ?, "
                 "ended = ?, end_reason = ? WHERE id = ?")
                 .bind(1, r.title)
                 .bind(2, r.doctor_display_name)
                 .bind(3, toString(r.state))
                 .bind(4, r.admitted_us)
                 .bind(5, r.ended_us)
                 .bind(6, r.end_reason)
                 .bind(7, r.id)
                 .run();
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::deleteRoom(const std::string& id) {
  return query("DELETE FROM rooms WHERE id = ?").bind(1, id).run();
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
  auto q = query(sql.c_str());
  int open_filter = 0;  // 1: only open rooms, 2: only scheduled rooms outside their window
  if (f.state == RoomState::kOpen || f.state == RoomState::kScheduled) {
    q.bind(1, toString(RoomState::kScheduled));
    open_filter = f.state == RoomState::kOpen ? 1 : 2;
  } else if (f.state) {
    q.bind(1, toString(*f.state));
  } else {
    q.bindNull(1);
  }
  q.bind(2, int64_t{open_filter}).bind(3, now_us);
  f.from_us ? q.bind(4, *f.from_us) : q.bindNull(4);
  f.to_us ? q.bind(5, *f.to_us) : q.bindNull(5);
  q.bind(6, after_start).bind(7, after_id).bind(8, static_cast<int64_t>(f.limit + 1));
  RoomPage page;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) page.rooms.push_back(readRoom(q));
  if (rc != SQLITE_DONE) return q.error();
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
  auto q = query(sql.c_str());
  q.bind(1, now_us);
  std::vector<Room> rooms;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) rooms.push_back(readRoom(q));
  if (rc != SQLITE_DONE) return q.error();
  return rooms;
}

Result<void> SqliteStore::insertInvite(const Invite& i) {
  const auto t0 = steadyUs();
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  if (auto r =
          query("INSERT INTO invites (id, room_id, role, subject, token_hash, created, expires, "
                "revoked) VALUES (?,?,?,?,?,?,?,?)")
              .bind(1, i.id)
              .bind(2, i.room_id)
              .bind(3, toString(i.role))
              .bind(4, i.subject)
              .bind(5, i.token_hash)
              .bind(6, i.created_us)
              .bind(7, i.expires_us)
              .bind(8, i.revoked_us)
              .run();
      !r.ok()) {
    return r;
  }
  if (i.consent) {
    if (auto r =
            query("INSERT INTO consents (invite_id, given_by, given_at, role) VALUES (?,?,?,?)")
                .bind(1, i.id)
                .bind(2, i.consent->given_by)
                .bind(3, i.consent->given_at_us)
                .bind(4, toString(i.consent->role))
                .run();
        !r.ok()) {
      return r;
    }
  }
  auto res = tx.commit();
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::deleteInvite(const std::string& id) {
  return query("DELETE FROM invites WHERE id = ?").bind(1, id).run();
}

Result<std::vector<Invite>> SqliteStore::readInvites(Query& q) {
  std::vector<Invite> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
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
    out.push_back(std::move(i));
  }
  if (rc != SQLITE_DONE) return q.error();
  return out;
}

Result<std::optional<Invite>> SqliteStore::invite(const std::string& id) {
  static const std::string sql = std::string(kInviteSelect) + "WHERE i.id = ?";
  auto q = query(sql.c_str());
  q.bind(1, id);
  auto r = readInvites(q);
  if (!r.ok()) return r.error();
  return r->empty() ? std::optional<Invite>() : std::optional<Invite>(r->front());
}

Result<std::optional<Invite>> SqliteStore::inviteByHash(const std::string& token_hash) {
  static const std::string sql = std::string(kInviteSelect) + "WHERE i.token_hash = ?";
  auto q = query(sql.c_str());
  q.bind(1, token_hash);
  auto r = readInvites(q);
  if (!r.ok()) return r.error();
  return r->empty() ? std::optional<Invite>() : std::optional<Invite>(r->front());
}

Result<std::vector<Invite>> SqliteStore::invitesOfRoom(const std::string& room_id) {
  static const std::string sql =
      std::string(kInviteSelect) + "WHERE i.room_id = ? ORDER BY i.created, i.id";
  auto q = query(sql.c_str());
  q.bind(1, room_id);
  return readInvites(q);
}

Result<void> SqliteStore::revokeInvite(const std::string& id, int64_t at_us) {
  const auto t0 = steadyUs();
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  if (auto r = query("UPDATE invites SET revoked = ? WHERE id = ? AND revoked = 0")
                   .bind(1, at_us)
                   .bind(2, id)
                   .run();
      !r.ok()) {
    return r;
  }
  if (auto r = query("DELETE FROM sessions WHERE invite_id = ?").bind(1, id).run(); !r.ok()) {
    return r;
  }
  auto res = tx.commit();
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::closeRoom(const Room& room, bool revoke_invites) {
  const auto t0 = steadyUs();
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  if (auto r = updateRoom(room); !r.ok()) return r;
  if (revoke_invites) {
    if (auto r = query("UPDATE invites SET revoked = ? WHERE room_id = ? AND revoked = 0")
                     .bind(1, room.ended_us)
                     .bind(2, room.id)
                     .run();
        !r.ok()) {
      return r;
    }
  }
  if (auto r = query("DELETE FROM sessions WHERE room_id = ?").bind(1, room.id).run(); !r.ok()) {
    return r;
  }
  auto res = tx.commit();
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::insertSessionRow(const Session& s) {
  return query(
             "INSERT INTO sessions (id, room_id, invite_id, role, subject, direction, transport, "
             "remote, started, stale) VALUES (?,?,?,?,?,?,?,?,?,?)")
      .bind(1, s.id)
      .bind(2, s.room_id)
      .bind(3, s.invite_id)
      .bind(4, toString(s.role))
      .bind(5, s.subject)
      .bind(6, toString(s.direction))
      .bind(7, s.transport)
      .bind(8, s.remote)
      .bind(9, s.started_us)
      .bind(10, int64_t{s.stale ? 1 : 0})
      .run();
}

Result<void> SqliteStore::insertSession(const Session& s) {
  const auto t0 = steadyUs();
  auto res = insertSessionRow(s);
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::replaceSession(const std::string& old_id, const Session& s) {
  const auto t0 = steadyUs();
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  if (auto r = query("DELETE FROM sessions WHERE id = ?").bind(1, old_id).run(); !r.ok()) return r;
  if (auto r = insertSessionRow(s); !r.ok()) return r;
  auto res = tx.commit();
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::removeSession(const std::string& id) {
  const auto t0 = steadyUs();
  auto res = query("DELETE FROM sessions WHERE id = ?").bind(1, id).run();
  countWrite(t0);
  return res;
}

Result<void> SqliteStore::setSessionStale(const std::string& id, bool stale) {
  const auto t0 = steadyUs();
  auto res = query("UPDATE sessions SET stale = ? WHERE id = ?")
                 .bind(1, int64_t{stale ? 1 : 0})
                 .bind(2, id)
                 .run();
  countWrite(t0);
  return res;
}

Result<std::vector<Session>> SqliteStore::readSessions(Query& q) {
  std::vector<Session> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    Session s;
    s.id = q.text(0);
    s.room_id = q.text(1);
    s.invite_id = q.text(2);
    s.role = parseRole(q.text(3)).value_or(Role::kSupporter);
    s.subject = q.text(4);
    s.direction = parseDirection(q.text(5)).value_or(Direction::kSubscribe);
    s.transport = q.text(6);
    s.remote = q.text(7);
    s.started_us = q.i64(8);
    s.stale = q.i64(9) != 0;
    out.push_back(std::move(s));
  }
  if (rc != SQLITE_DONE) return q.error();
  return out;
}

Result<std::optional<Session>> SqliteStore::session(const std::string& id) {
  static const std::string sql = std::string(kSessionSelect) + "WHERE id = ?";
  auto q = query(sql.c_str());
  q.bind(1, id);
  auto r = readSessions(q);
  if (!r.ok()) return r.error();
  return r->empty() ? std::optional<Session>() : std::optional<Session>(r->front());
}

Result<std::vector<Session>> SqliteStore::sessionsOfRoom(const std::string& room_id) {
  static const std::string sql = std::string(kSessionSelect) + "WHERE room_id = ? ORDER BY started";
  auto q = query(sql.c_str());
  q.bind(1, room_id);
  return readSessions(q);
}

Result<std::vector<Session>> SqliteStore::sessionsOfInvite(const std::string& invite_id) {
  static const std::string sql =
      std::string(kSessionSelect) + "WHERE invite_id = ? ORDER BY started";
  auto q = query(sql.c_str());
  q.bind(1, invite_id);
  return readSessions(q);
}

Result<std::vector<Session>> SqliteStore::sessionsOfSubject(const std::string& subject) {
  static const std::string sql = std::string(kSessionSelect) + "WHERE subject = ? ORDER BY started";
  auto q = query(sql.c_str());
  q.bind(1, subject);
  return readSessions(q);
}

Result<std::vector<Session>> SqliteStore::takeAllSessions() {
  Transaction tx(*this);
  if (!tx.began()) return error("begin");
  static const std::string sql = std::string(kSessionSelect) + "ORDER BY started";
  Result<std::vector<Session>> all = std::vector<Session>();
  {
    auto q = query(sql.c_str());
    all = readSessions(q);
  }
  if (!all.ok()) return all;
  if (auto r = exec("DELETE FROM sessions"); !r.ok()) return r.error();
  if (auto r = tx.commit(); !r.ok()) return r.error();
  return all;
}

}  // namespace medrelay::control

#include "control/webhook_outbox.h"

#include <array>

namespace medrelay::control {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS webhook_cursors ("
    " endpoint TEXT PRIMARY KEY, enqueued_seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS webhook_deliveries ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL, seq INTEGER NOT NULL,"
    " event TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,"
    " state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER NOT NULL DEFAULT 0, last_status INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
    " delivered INTEGER NOT NULL DEFAULT 0, UNIQUE (endpoint, seq));"
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_head"
    " ON webhook_deliveries (endpoint, state, seq);"
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries (created);";

constexpr const char* kColumns =
    "SELECT id, endpoint, seq, event, message_id, body, state, attempts, next_attempt, "
    "last_status, last_error, created, delivered FROM webhook_deliveries ";

constexpr std::array<std::string_view, 3> kStateNames = {"pending", "delivered", "dead"};

// One prepared statement, finalised when it goes away.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK) stmt_.reset(s);
  }
  bool ok() const { return stmt_ != nullptr; }
  Stmt& bind(int i, int64_t v) {
    if (stmt_) sqlite3_bind_int64(stmt_.get(), i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    if (stmt_) {
      sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    return *this;
  }
  int step() { return stmt_ ? sqlite3_step(stmt_.get()) : SQLITE_ERROR; }
  int64_t i64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_.get(), col);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }

 private:
  SqliteStmt stmt_;
};

WebhookDelivery readRow(const Stmt& s) {
  WebhookDelivery d;
  d.id = s.i64(0);
  d.endpoint = s.text(1);
  d.seq = static_cast<uint64_t>(s.i64(2));
  d.event = s.text(3);
  d.message_id = s.text(4);
  d.body = s.text(5);
  const int64_t state = s.i64(6);
  d.state = state >= 0 && state < 3 ? static_cast<DeliveryState>(state) : DeliveryState::kDead;
  d.attempts = static_cast<uint32_t>(s.i64(7));
  d.next_attempt_us = s.i64(8);
  d.last_status = static_cast<int>(s.i64(9));
  d.last_error = s.text(10);
  d.created_us = s.i64(11);
  d.delivered_us = s.i64(12);
  return d;
}

}  // namespace

std::string_view toString(DeliveryState state) {
  return kStateNames[static_cast<size_t>(state)];
}

std::optional<DeliveryState> parseDeliveryState(std::string_view name) {
  for (size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<DeliveryState>(i);
  }
  return std::nullopt;
}

Result<std::unique_ptr<WebhookOutbox>> WebhookOutbox::open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  SqliteDb db(raw);
  if (rc != SQLITE_OK) {
    return makeError("webhook_outbox", "cannot open " + path.string() + ": " +
                                           (raw != nullptr ? sqlite3_errmsg(raw) : "no memory"));
  }
  auto box = std::make_unique<WebhookOutbox>(std::move(db));
  sqlite3_busy_timeout(box->db_.get(), 2000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (auto r = box->exec(sql); !r) {
      return makeError("webhook_outbox", path.string() + ": " + r.error().message);
    }
  }
  return box;
}

Result<void> WebhookOutbox::exec(const char* sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg);
  CPtr<char, sqlite3_free> owned(msg);
  if (rc != SQLITE_OK) {
    return makeError("webhook_outbox", std::string("sqlite: ") + (msg != nullptr ? msg : "error"));
  }
  return {};
}

Error WebhookOutbox::error(const char* what) const {
  return makeError("webhook_outbox", std::string(what) + ": " + sqlite3_errmsg(db_.get()));
}

Result<uint64_t> WebhookOutbox::cursor(const std::string& endpoint) {
  Stmt s(db_.get(), "SELECT enqueued_seq FROM webhook_cursors WHERE endpoint = ?");
  s.bind(1, endpoint);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return static_cast<uint64_t>(s.i64(0));
  if (rc == SQLITE_DONE) return uint64_t{0};
  return error("cursor");
}

Result<void> WebhookOutbox::enqueue(const std::string& endpoint,
                                    const std::vector<WebhookDelivery>& rows,
                                    uint64_t through_seq) {
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
  auto fail = [&](const char* what) -> Result<void> {
    Error e = error(what);
    exec("ROLLBACK");
    return e;
  };
  for (const auto& d : rows) {
    Stmt s(db_.get(),
           "INSERT OR IGNORE INTO webhook_deliveries (endpoint, seq, event, message_id, body, "
           "state, next_attempt, created) VALUES (?, ?, ?, ?, ?, 0, ?, ?)");
    s.bind(1, endpoint)
        .bind(2, static_cast<int64_t>(d.seq))
        .bind(3, d.event)
        .bind(4, d.message_id)
        .bind(5, d.body)
        .bind(6, d.next_attempt_us)
        .bind(7, d.created_us);
    if (s.step() != SQLITE_DONE) return fail("insert delivery");
  }
  Stmt c(db_.get(),
         "INSERT INTO webhook_cursors (endpoint, enqueued_seq) VALUES (?, ?) "
         "ON CONFLICT (endpoint) DO UPDATE SET enqueued_seq = excluded.enqueued_seq");
  c.bind(1, endpoint).bind(2, static_cast<int64_t>(through_seq));
  if (c.step() != SQLITE_DONE) return fail("update cursor");
  if (auto r = exec("COMMIT"); !r) {
    exec("ROLLBACK");
    return r;
  }
  return {};
}

Result<std::optional<WebhookDelivery>> WebhookOutbox::head(const std::string& endpoint) {
  Stmt s(db_.get(),
         (std::string(kColumns) + "WHERE endpoint = ? AND state = 0 ORDER BY seq LIMIT 1").c_str());
  s.bind(1, endpoint);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<WebhookDelivery>(readRow(s));
  if (rc == SQLITE_DONE) return std::optional<WebhookDelivery>();
  return error("head");
}

Result<void> WebhookOutbox::markDelivered(int64_t id, int status, int64_t at_us) {
  Stmt s(db_.get(),
         "UPDATE webhook_deliveries SET state = 1, attempts = attempts + 1, last_status = ?, "
         "last_error = '', delivered = ? WHERE id = ?");
  s.bind(1, int64_t{status}).bind(2, at_us).bind(3, id);
  if (s.step() != SQLITE_DONE) return error("mark delivered");
  return {};
}

Result<void> WebhookOutbox::markFailed(int64_t id, uint32_t attempts, int status,
                                       const std::string& err, bool dead, int64_t next_attempt_us) {
  Stmt s(db_.get(),
         "UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, "
         "last_error = ?, next_attempt = ? WHERE id = ?");
  s.bind(1, int64_t{dead ? 2 : 0})
      .bind(2, int64_t{attempts})
      .bind(3, int64_t{status})
      .bind(4, err)
      .bind(5, next_attempt_us)
      .bind(6, id);
  if (s.step() != SQLITE_DONE) return error("mark failed");
  return {};
}

Result<std::vector<WebhookDelivery>> WebhookOutbox::list(const DeliveryQuery& q) {
  std::string sql = std::string(kColumns) + "WHERE id > ? AND created >= ?";
  if (q.state) sql += " AND state = ?";
  sql += " ORDER BY id LIMIT ?";
  Stmt s(db_.get(), sql.c_str());
  s.bind(1, q.after_id);
  s.bind(2, q.since_us.value_or(0));
  int next = 3;
  if (q.state) s.bind(next++, static_cast<int64_t>(*q.state));
  s.bind(next, static_cast<int64_t>(q.limit));
  std::vector<WebhookDelivery> out;
  int rc = 0;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(readRow(s));
  if (rc != SQLITE_DONE) return error("list");
  return out;
}

Result<std::optional<WebhookDelivery>> WebhookOutbox::replay(int64_t id, int64_t now_us) {
  Stmt u(db_.get(),
         "UPDATE webhook_deliveries SET state = 0, attempts = 0, next_attempt = ?, "
         "last_error = '' WHERE id = ?");
  u.bind(1, now_us).bind(2, id);
  if (u.step() != SQLITE_DONE) return error("replay");
  if (sqlite3_changes(db_.get()) == 0) return std::optional<WebhookDelivery>();
  Stmt s(db_.get(), (std::string(kColumns) + "WHERE id = ?").c_str());
  s.bind(1, id);
  if (s.step() != SQLITE_ROW) return error("replay");
  return std::optional<WebhookDelivery>(readRow(s));
}

Result<uint64_t> WebhookOutbox::pendingCount() {
  Stmt s(db_.get(), "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 0");
  if (s.step() != SQLITE_ROW) return error("count");
  return static_cast<uint64_t>(s.i64(0));
}

}  // namespace medrelay::control

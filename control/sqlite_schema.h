#pragma once

#include <array>

namespace medrelay::control {

// Migrations, in order: index i takes the schema from version i to i + 1. Never edit one that
// has shipped; append a new one.
inline constexpr std::array<const char*, 2> kMigrations = {
    R"sql(
CREATE TABLE rooms (
  id TEXT PRIMARY KEY,
  mode TEXT NOT NULL,
  scheduled_start INTEGER NOT NULL,
  opens_at INTEGER NOT NULL,
  closes_at INTEGER NOT NULL,
  institution_id TEXT NOT NULL,
  institution_contact TEXT NOT NULL,
  doctor_display_name TEXT NOT NULL,
  title TEXT NOT NULL,
  external_ref TEXT NOT NULL,
  state TEXT NOT NULL,
  created INTEGER NOT NULL,
  admitted INTEGER NOT NULL DEFAULT 0,
  ended INTEGER NOT NULL DEFAULT 0,
  end_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rooms_by_start ON rooms(scheduled_start, id);
CREATE INDEX rooms_by_close ON rooms(state, closes_at);
CREATE TABLE invites (
  id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  subject TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invites_by_room ON invites(room_id);
CREATE TABLE consents (
  invite_id TEXT PRIMARY KEY REFERENCES invites(id) ON DELETE CASCADE,
  given_by TEXT NOT NULL,
  given_at INTEGER NOT NULL,
  role TEXT NOT NULL
);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  room_id TEXT NOT NULL,
  invite_id TEXT NOT NULL,
  role TEXT NOT NULL,
  subject TEXT NOT NULL,
  direction TEXT NOT NULL,
  transport TEXT NOT NULL,
  remote TEXT NOT NULL,
  started INTEGER NOT NULL,
  stale INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_room ON sessions(room_id);
CREATE INDEX sessions_by_invite ON sessions(invite_id);
CREATE INDEX sessions_by_subject ON sessions(subject);
)sql",
    // Access-log records kept until the log has them (docs/access-log.md, "Ordering and
    // recovery"): written in the transaction of the change they describe.
    R"sql(
CREATE TABLE pending_records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  after_seq INTEGER NOT NULL,
  occurred INTEGER NOT NULL,
  event TEXT NOT NULL,
  room TEXT NOT NULL,
  invite TEXT NOT NULL,
  session TEXT NOT NULL,
  fields TEXT NOT NULL
);
CREATE INDEX pending_by_room ON pending_records(room);
CREATE INDEX pending_by_invite ON pending_records(invite);
CREATE INDEX pending_by_session ON pending_records(session);
)sql"};

}  // namespace medrelay::control

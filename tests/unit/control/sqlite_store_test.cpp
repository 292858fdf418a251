#include "control/sqlite_store.h"

#include <gtest/gtest.h>

#include "control/access_log_record.h"
#include "control/auth_rate_limiter.h"
#include "control/invite_token.h"
#include "control/sqlite_schema.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

constexpr int64_t kHourUs = 3600'000'000;

Room makeRoom(const std::string& id, int64_t start) {
  Room r;
  r.id = id;
  r.mode = RoomMode::kD2PWithD;
  r.scheduled_start_us = start;
  r.opens_at_us = start - kHourUs;
  r.closes_at_us = start + 24 * kHourUs;
  r.institution_id = "c1";
  r.institution_contact = "tel";
  r.doctor_display_name = "Dr";
  r.created_us = start - 48 * kHourUs;
  return r;
}

Session makeSession(const std::string& id, const std::string& room, const std::string& invite,
                    const std::string& subject) {
  Session s;
  s.id = id;
  s.room_id = room;
  s.invite_id = invite;
  s.role = Role::kDoctor;
  s.subject = subject;
  s.transport = "udp";
  s.remote = "192.0.2.1:1";
  s.started_us = 1;
  return s;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> open() {
    auto s = SqliteStore::open(dir_.path() / "state.db");
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string pragma(const char* sql) {
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open((dir_.path() / "state.db").c_str(), &raw), SQLITE_OK);
    SqliteDb db(raw);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(raw, sql, -1, &st, nullptr), SQLITE_OK);
    SqliteStmt stmt(st);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    return out;
  }
  test::TempDir dir_;
};

TEST_F(SqliteStoreTest, WalJournalAndVersionedSchema) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("SELECT version FROM schema_version"),
            std::to_string(SqliteStore::schemaVersion()));
  store.reset();
  // Opening again applies nothing twice.
  ASSERT_TRUE(open());
  EXPECT_EQ(pragma("SELECT count(*) FROM schema_version"), "1");
  // A database from a newer binary is refused rather than misread.
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "state.db").c_str(), &raw), SQLITE_OK);
    SqliteDb db(raw);
    ASSERT_EQ(
        sqlite3_exec(raw, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
        SQLITE_OK);
  }
  auto newer = SqliteStore::open(dir_.path() / "state.db");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error().code, "store_version");
}

TEST_F(SqliteStoreTest, RoomsInvitesAndSessionsRoundTrip) {
  auto store = open();
  Room room = makeRoom("rm_1", 10 * kHourUs + 946'684'800'000'000);
  room.title = "タイトル";
  ASSERT_TRUE(store->insertRoom(room).ok());
  EXPECT_EQ(store->insertRoom(room).error().code, "store_error");  // primary key
  Invite inv;
  inv.id = "inv_1";
  inv.room_id = room.id;
  inv.role = Role::kAttendingDoctor;
  inv.subject = "gp-1";
  inv.token_hash = "ab12";
  inv.created_us = 5;
  inv.expires_us = room.closes_at_us;
  inv.consent = ConsentRecord{"pat-1", 4, Role::kAttendingDoctor};
  ASSERT_TRUE(store->insertInvite(inv).ok());
  Invite dup = inv;
  dup.id = "inv_2";  // same hash: refused, and the transaction leaves nothing behind
  EXPECT_FALSE(store->insertInvite(dup).ok());
  EXPECT_FALSE(store->invite("inv_2")->has_value());

  auto got = store->inviteByHash("ab12");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->id, "inv_1");
  EXPECT_EQ((*got)->role, Role::kAttendingDoctor);
  ASSERT_TRUE((*got)->consent.has_value());
  EXPECT_EQ((*got)->consent->given_by, "pat-1");
  EXPECT_EQ(store->room("rm_1").value().value().title, "タイトル");

  ASSERT_TRUE(store->insertSession(makeSession("s1", "rm_1", "inv_1", "gp-1")).ok());
  ASSERT_TRUE(store->insertSession(makeSession("s2", "rm_1", "inv_1", "gp-1")).ok());
  ASSERT_TRUE(store->setSessionStale("s1", true).ok());
  EXPECT_TRUE(store->session("s1").value().value().stale);
  ASSERT_TRUE(store->replaceSession("s1", makeSession("s3", "rm_1", "inv_1", "gp-1")).ok());
  EXPECT_FALSE(store->session("s1")->has_value());
  EXPECT_EQ(store->sessionsOfSubject("gp-1")->size(), 2u);
  ASSERT_TRUE(store->revokeInvite("inv_1", 77).ok());
  EXPECT_EQ(store->invite("inv_1").value().value().revoked_us, 77);
  EXPECT_TRUE(store->sessionsOfInvite("inv_1")->empty());  // revoking ended them

  ASSERT_TRUE(store->insertSession(makeSession("s4", "rm_1", "inv_1", "gp-1")).ok());
  room.state = RoomState::kCancelled;
  room.ended_us = 99;
  ASSERT_TRUE(store->closeRoom(room, true).ok());
  EXPECT_TRUE(store->sessionsOfRoom("rm_1")->empty());
  EXPECT_EQ(store->room("rm_1").value().value().state, RoomState::kCancelled);
  EXPECT_GT(store->stats().writes, 5u);
}

TEST_F(SqliteStoreTest, ListFiltersAndPages) {
  auto store = open();
  const int64_t base = *parseTime("2026-11-21T10:00:00.000000Z");
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        store->insertRoom(makeRoom("rm_" + std::to_string(i), base + i * 3 * kHourUs)).ok());
  }
  Room admitted = *store->room("rm_0").value();
  admitted.state = RoomState::kInConsultation;
  ASSERT_TRUE(store->updateRoom(admitted).ok());
  RoomFilter f;
  f.limit = 3;
  std::vector<std::string> ids;
  for (int page = 0; page < 5; ++page) {
    auto p = store->listRooms(f, base);
    ASSERT_TRUE(p.ok());
    for (const auto& r : p->rooms) ids.push_back(r.id);
    if (p->next_cursor.empty()) break;
    f.cursor = p->next_cursor;
  }
  EXPECT_EQ(ids,
            (std::vector<std::string>{"rm_0", "rm_1", "rm_2", "rm_3", "rm_4", "rm_5", "rm_6"}));
  // rm_0 is in consultation (not "open"); at base+2h only rm_1's window has opened.
  RoomFilter open_now;
  open_now.state = RoomState::kOpen;
  auto open_rooms = store->listRooms(open_now, base + 2 * kHourUs);
  ASSERT_TRUE(open_rooms.ok());
  ASSERT_EQ(open_rooms->rooms.size(), 1u);
  EXPECT_EQ(open_rooms->rooms[0].id, "rm_1");
  RoomFilter scheduled;
  scheduled.state = RoomState::kScheduled;
  EXPECT_EQ(store->listRooms(scheduled, base + 2 * kHourUs)->rooms.size(), 5u);
  RoomFilter in_c;
  in_c.state = RoomState::kInConsultation;
  EXPECT_EQ(store->listRooms(in_c, base)->rooms.size(), 1u);
  RoomFilter range;
  range.from_us = base + 3 * kHourUs;
  range.to_us = base + 9 * kHourUs;
  EXPECT_EQ(store->listRooms(range, base)->rooms.size(), 2u);
  RoomFilter bad;
  bad.cursor = "x:rm";
  EXPECT_EQ(store->listRooms(bad, base).error().code, "invalid_field");
  EXPECT_EQ(store->roomsClosedBy(base + 24 * kHourUs)->size(), 1u);  // rm_0 (in consultation)
}

TEST(InviteTokensTest, TokensAreRandomPrefixedAndOnlyTheirHashIsComparable) {
  TokenPepper pepper{};
  pepper.fill(1);
  InviteTokens tokens(pepper);
  const auto a = tokens.generate();
  const auto b = tokens.generate();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.substr(0, 4), "mri_");
  EXPECT_EQ(a.size(), 4u + 43u);  // 256 bits in base64url
  EXPECT_TRUE(InviteTokens::wellFormed(a));
  EXPECT_FALSE(InviteTokens::wellFormed(a + "A"));
  EXPECT_FALSE(InviteTokens::wellFormed("mri_" + std::string(42, 'A') + "="));
  EXPECT_FALSE(InviteTokens::wellFormed("xyz_" + a.substr(4)));
  EXPECT_EQ(tokens.hash(a).size(), 64u);
  EXPECT_EQ(tokens.hash(a), tokens.hash(a));
  EXPECT_NE(tokens.hash(a), tokens.hash(b));
  pepper.fill(2);
  EXPECT_NE(InviteTokens(pepper).hash(a), tokens.hash(a));  // the pepper matters
  EXPECT_TRUE(InviteTokens::hashesEqual(tokens.hash(a), tokens.hash(a)));
  EXPECT_FALSE(InviteTokens::hashesEqual(tokens.hash(a), tokens.hash(b)));
  const uint8_t bytes[] = {0xfb, 0xff, 0x00};
  EXPECT_EQ(base64Url(bytes, 3), "-_8A");
  EXPECT_EQ(base64Url(bytes, 2), "-_8");
}

PendingRecord pendingFor(const std::string& room, const std::string& invite, AccessEvent event) {
  PendingRecord p;
  p.after_seq = 41;
  p.occurred_us = 1'700'000'000'000'000;
  p.record.event = event;
  p.record.room = room;
  p.record.invite = invite;
  p.record.role = "supporter";
  p.record.subject = "subj-1";
  p.record.reason = "revoked";
  p.record.detail = {{"consent_role", "supporter"}, {"n", 3}};
  return p;
}

// Pending access-log records commit or roll back with the change they describe, also when the
// change is itself a transaction (it nests as a savepoint).
TEST_F(SqliteStoreTest, PendingRecordsCommitOrRollBackWithTheirChange) {
  auto store = open();
  ASSERT_TRUE(store->insertRoom(makeRoom("r1", 10 * kHourUs)).ok());
  {
    auto tx = store->begin();
    ASSERT_TRUE(store->insertRoom(makeRoom("r2", 10 * kHourUs)).ok());
    ASSERT_TRUE(store->insertPending(pendingFor("r2", "", AccessEvent::kRoomCreated)).ok());
  }  // no commit: rolled back
  EXPECT_FALSE(store->room("r2")->has_value());
  EXPECT_TRUE(store->pendingRecords(0, 10)->empty());

  Invite inv;
  inv.id = "i1";
  inv.room_id = "r1";
  inv.role = Role::kSupporter;
  inv.subject = "subj-1";
  inv.token_hash = "h1";
  inv.consent = ConsentRecord{"pt", 5, Role::kSupporter};
  int64_t id = 0;
  {
    auto tx = store->begin();
    ASSERT_TRUE(store->insertInvite(inv).ok());  // its own transaction, nested
    auto p = store->insertPending(pendingFor("r1", "i1", AccessEvent::kInviteIssued));
    ASSERT_TRUE(p.ok());
    id = *p;
    ASSERT_TRUE(tx->commit().ok());
  }
  ASSERT_TRUE(store->invite("i1")->has_value());
  EXPECT_TRUE(store->invite("i1")->value().consent.has_value());
  auto kept = store->pendingRecords(0, 10);
  ASSERT_EQ(kept->size(), 1u);
  const PendingRecord& k = kept->front();
  EXPECT_EQ(k.id, id);
  EXPECT_EQ(k.after_seq, 41u);
  EXPECT_EQ(k.occurred_us, 1'700'000'000'000'000);
  EXPECT_EQ(k.record.event, AccessEvent::kInviteIssued);
  EXPECT_EQ(k.record.invite, "i1");
  EXPECT_EQ(k.record.role, "supporter");
  EXPECT_EQ(k.record.reason, "revoked");
  EXPECT_EQ(k.record.detail, (nlohmann::json{{"consent_role", "supporter"}, {"n", 3}}));

  // A failing statement inside rolls back the whole change; the store stays usable.
  {
    auto tx = store->begin();
    ASSERT_TRUE(store->insertPending(pendingFor("r1", "i1", AccessEvent::kInviteRevoked)).ok());
    EXPECT_FALSE(store->insertInvite(inv).ok());  // duplicate id
  }
  EXPECT_EQ(store->pendingRecords(0, 10)->size(), 1u);

  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->insertPending(pendingFor("r1", "", AccessEvent::kRoomEdited)).ok());
  }
  auto page = store->pendingRecords(id, 3);
  ASSERT_EQ(page->size(), 3u);
  EXPECT_GT(page->front().id, id);
  ASSERT_TRUE(store->removePending({page->at(0).id, page->at(1).id}).ok());
  EXPECT_EQ(store->pendingRecords(0, 10)->size(), 4u);
  ASSERT_TRUE(store->removePendingOf(PendingOf::kInvite, "i1").ok());
  EXPECT_EQ(store->pendingRecords(0, 10)->size(), 3u);
  ASSERT_TRUE(store->removePendingOf(PendingOf::kRoom, "r1").ok());
  EXPECT_TRUE(store->pendingRecords(0, 10)->empty());
}

// A database of schema version 1 (before pending records) is migrated at open.
TEST_F(SqliteStoreTest, VersionOneDatabaseGainsThePendingRecordsTable) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "state.db").c_str(), &raw), SQLITE_OK);
    SqliteDb db(raw);
    ASSERT_EQ(sqlite3_exec(raw, kMigrations[0], nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                           "INSERT INTO schema_version VALUES (1);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(pragma("SELECT version FROM schema_version"), "2");
  EXPECT_TRUE(store->insertPending(pendingFor("r1", "", AccessEvent::kRoomEdited)).ok());
}

TEST(AuthRateLimiterTest, BucketsPerAddressAndABoundedTable) {
  AuthRateLimiter limiter({/*burst=*/2, /*refill_per_s=*/1, /*max_addresses=*/3});
  EXPECT_EQ(AuthRateLimiter::addressOf("192.0.2.1:80"), "192.0.2.1");
  EXPECT_EQ(AuthRateLimiter::addressOf("[2001:db8::1]:443"), "2001:db8::1");
  EXPECT_EQ(AuthRateLimiter::addressOf("2001:db8::1"), "2001:db8::1");
  using V = AuthRateLimiter::Verdict;
  limiter.recordFailure("192.0.2.1:1", 0);
  EXPECT_EQ(limiter.check("192.0.2.1:2", 0), V::kAllow);
  limiter.recordFailure("192.0.2.1:1", 0);
  EXPECT_EQ(limiter.check("192.0.2.1:2", 0), V::kRefuse);
  EXPECT_EQ(limiter.check("192.0.2.1:2", 0), V::kRefuseQuietly);
  EXPECT_EQ(limiter.check("192.0.2.2:2", 0), V::kAllow);
  EXPECT_EQ(limiter.check("192.0.2.1:2", 1'000'000), V::kAllow);  // a token back after 1 s
  for (int i = 2; i < 10; ++i) limiter.recordFailure("192.0.2." + std::to_string(i) + ":1", 0);
  EXPECT_LE(limiter.size(), 3u);
}

}  // namespace
}  // namespace medrelay::control

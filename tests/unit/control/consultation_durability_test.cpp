// Fail-safe ordering of store and access log (docs/access-log.md, "Ordering and recovery"):
// enabling changes take effect only once their record is durable and are undone when it cannot
// be written; disabling changes take effect at once and their records are written late, flagged,
// when the log accepts them; what a crash between store and log leaves is settled at start-up.
// Faults are injected in the log's file layer (ENOSPC on write).
#include <gtest/gtest.h>

#include <cerrno>

#include "control/policy.h"
#include "tests/unit/control/consultation_test_fixture.h"

namespace medrelay::control {
namespace {

class DurabilityTest : public testutil::ConsultationFixture {
 protected:
  void SetUp() override {
    faulty_ = std::make_shared<testutil::FaultyFiles>();
    files_ = faulty_;
    openAll();
  }
  void failLog() { faulty_->write_errno = ENOSPC; }
  void healLog() {
    faulty_->write_errno = 0;
    for (int i = 0; i < 500 && log_->unhealthy(); ++i) spin(10);
    ASSERT_FALSE(log_->unhealthy());
  }
  // Runs the loop (timers included) until `done()` or about 5 s.
  template <typename Pred>
  bool spinUntil(Pred done) {
    for (int i = 0; i < 500 && !done(); ++i) spin(10);
    return done();
  }
  std::vector<PendingRecord> pending() {
    auto p = store_->pendingRecords(0, 10000);
    EXPECT_TRUE(p.ok());
    return p.ok() ? p.value() : std::vector<PendingRecord>{};
  }
  Result<Room> admit(const Room& room) {
    return await<Room>([&](auto done) { svc_->admit(room.id, Caller::ofBackend(), done); });
  }
  Result<Invite> revoke(const Room& room, const std::string& invite_id) {
    return await<Invite>([&](auto done) { svc_->revokeInvite(room.id, invite_id, done); });
  }
  Result<Room> cancel(const Room& room) {
    return await<Room>([&](auto done) { svc_->cancelRoom(room.id, done); });
  }
  RoomState stateOf(const Room& room) {
    auto d = svc_->getRoom(room.id);
    EXPECT_TRUE(d.ok());
    return d.ok() ? d->room.state : RoomState::kCancelled;
  }
  static bool recovered(const AccessRecord& r) {
    return r.detail.is_object() && r.detail.value("recovered", false);
  }
  // Sequence number of the one record matching, 0 if none or several.
  uint64_t seqOf(AccessEvent event, const std::string& room, const std::string& session = {},
                 const std::string& reason = {}) {
    uint64_t seq = 0;
    int n = 0;
    for (const auto& r : recordsOf(event, room)) {
      if (!session.empty() && r.session != session) continue;
      if (!reason.empty() && r.reason != reason) continue;
      seq = r.seq;
      ++n;
    }
    return n == 1 ? seq : 0;
  }

  std::shared_ptr<testutil::FaultyFiles> faulty_;
};

// Item 4: the room goes into consultation, and the admitted event (which starts forwarding in
// the media plane) is published, only after consultation_started is durable.
TEST_F(DurabilityTest, AdmissionStartsOnlyOnceItsRecordIsDurable) {
  Room room = createRoom(RoomMode::kD2P);
  ASSERT_TRUE(join(token(room, Role::kDoctor, "doc-1"), room.id).ok());
  ASSERT_TRUE(join(token(room, Role::kPatient, "pat-1"), room.id).ok());
  int admitted_events = 0;
  size_t started_records_at_event = 0;
  svc_->events().subscribe(room.id, Audience::kBackend, [&](const nlohmann::json& e) {
    if (e.value("type", "") != "admitted") return;
    ++admitted_events;
    started_records_at_event = recordsOf(AccessEvent::kConsultationStarted, room.id).size();
  });

  failLog();
  auto refused = admit(room);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "access_log_unavailable");
  EXPECT_EQ(policyStatus(refused.error().code), 503);
  spin(50);
  EXPECT_EQ(stateOf(room), RoomState::kScheduled);
  EXPECT_EQ(svc_->getRoom(room.id)->room.admitted_us, 0);
  EXPECT_EQ(admitted_events, 0);
  EXPECT_TRUE(recordsOf(AccessEvent::kConsultationStarted, room.id).empty());
  EXPECT_TRUE(spinUntil([&] { return pending().empty(); }));

  healLog();
  // While the record is being written the room is still waiting: a join meanwhile computes the
  // waiting room's forwarding rules.
  std::optional<Result<Room>> answer;
  svc_->admit(room.id, Caller::ofBackend(), [&](Result<Room> r) { answer.emplace(std::move(r)); });
  EXPECT_EQ(stateOf(room), RoomState::kScheduled);
  EXPECT_FALSE(svc_->getRoom(room.id)->room.admitted());
  ASSERT_TRUE(spinUntil([&] { return answer.has_value() && admitted_events > 0; }));
  ASSERT_TRUE(answer->ok()) << answer->error().code;
  EXPECT_EQ(stateOf(room), RoomState::kInConsultation);
  EXPECT_EQ(admitted_events, 1);
  EXPECT_EQ(started_records_at_event, 1u);
  EXPECT_TRUE(verify().ok()) << verify().summary();
}

TEST_F(DurabilityTest, AnInviteThatCannotBeLoggedIsRemovedAndHoldsNoSeat) {
  Room room = createRoom(RoomMode::kD2P);
  failLog();
  auto refused = invite(room, Role::kPatient, "pat-1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "access_log_unavailable");
  EXPECT_TRUE(svc_->listInvites(room.id)->empty());
  EXPECT_TRUE(spinUntil([&] { return pending().empty(); }));
  healLog();
  auto issued = invite(room, Role::kPatient, "pat-2");  // not patient_already_invited
  ASSERT_TRUE(issued.ok()) << issued.error().code;
  EXPECT_EQ(recordsOf(AccessEvent::kInviteIssued, room.id).size(), 1u);
}

// Item 6: a session end cannot be refused; its record is owed and written, flagged, with the
// time of the hangup, once the log accepts it again.
TEST_F(DurabilityTest, HangupWhileTheLogFailsIsWrittenLateWithItsTime) {
  Room room = createRoom(RoomMode::kD2P);
  auto s = join(token(room, Role::kPatient, "pat-1"), room.id);
  ASSERT_TRUE(s.ok());
  failLog();
  clock_.advance(std::chrono::seconds(5));
  const int64_t hangup_us = clock_.nowUs();
  auto left = leave(s->id, "hangup");
  ASSERT_TRUE(left.ok()) << left.error().code;  // the session is gone whatever the log does
  EXPECT_TRUE(svc_->getRoom(room.id)->sessions.empty());
  EXPECT_TRUE(recordsOf(AccessEvent::kParticipantLeft, room.id).empty());
  ASSERT_TRUE(spinUntil([&] { return pending().size() == 1; }));
  EXPECT_EQ(pending()[0].record.event, AccessEvent::kParticipantLeft);
  clock_.advance(std::chrono::seconds(30));

  healLog();
  ASSERT_TRUE(spinUntil([&] { return !recordsOf(AccessEvent::kParticipantLeft).empty(); }));
  auto recs = recordsOf(AccessEvent::kParticipantLeft, room.id);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].session, s->id);
  EXPECT_EQ(recs[0].reason, "hangup");
  EXPECT_TRUE(recovered(recs[0])) << recs[0].detail.dump();
  EXPECT_EQ(recs[0].detail.value("occurred_at", ""), formatTime(hangup_us));
  EXPECT_EQ(recs[0].detail.value("direction", ""), "publish");
  EXPECT_GT(recs[0].time_us, hangup_us);  // written later: the chain's time never goes back
  EXPECT_EQ(svc_->counters().changed("participant_left"), 1u);  // one change, counted once
  EXPECT_TRUE(spinUntil([&] { return pending().empty(); }));
  EXPECT_TRUE(verify().ok()) << verify().summary();
}

// Disabling goes first: revoke and cancel stop media and change the state while the log is
// failing; every record reaches the log once it recovers.
TEST_F(DurabilityTest, RevokeAndCancelWorkWhileTheLogFails) {
  Room room = createRoom(RoomMode::kD2P);
  auto doc = invite(room, Role::kDoctor, "doc-1");
  auto pat = invite(room, Role::kPatient, "pat-1");
  ASSERT_TRUE(doc.ok() && pat.ok());
  auto sd = join(doc->token, room.id);
  auto sp = join(pat->token, room.id);
  ASSERT_TRUE(sd.ok() && sp.ok());
  ASSERT_TRUE(admit(room).ok());
  failLog();
  terminator_.ended.clear();

  auto revoked = revoke(room, pat->invite.id);
  ASSERT_TRUE(revoked.ok()) << revoked.error().code;
  EXPECT_FALSE(revoked->live());
  ASSERT_EQ(terminator_.ended.size(), 1u);
  EXPECT_EQ(terminator_.ended[0], std::make_pair(sp->id, std::string("revoked")));
  auto cancelled = cancel(room);
  ASSERT_TRUE(cancelled.ok()) << cancelled.error().code;
  ASSERT_EQ(terminator_.ended.size(), 2u);
  EXPECT_EQ(terminator_.ended[1], std::make_pair(sd->id, std::string("cancelled")));
  EXPECT_EQ(stateOf(room), RoomState::kCancelled);
  EXPECT_EQ(authorize(doc->token, room.id).error().code, "access_log_unavailable");
  EXPECT_TRUE(recordsOf(AccessEvent::kRoomCancelled, room.id).empty());

  healLog();
  ASSERT_TRUE(spinUntil([&] { return pending().empty(); }));
  for (const auto& [event, reason] : std::vector<std::pair<AccessEvent, std::string>>{
           {AccessEvent::kInviteRevoked, "revoked"},
           {AccessEvent::kRoomCancelled, ""},
           {AccessEvent::kInviteRevoked, "cancelled"},
           {AccessEvent::kConsultationEnded, "cancelled"}}) {
    SCOPED_TRACE(std::string(toString(event)) + " " + reason);
    ASSERT_NE(seqOf(event, room.id, "", reason), 0u);
  }
  EXPECT_NE(seqOf(AccessEvent::kParticipantLeft, room.id, sp->id, "revoked"), 0u);
  EXPECT_NE(seqOf(AccessEvent::kParticipantLeft, room.id, sd->id, "cancelled"), 0u);
  for (const auto& r : records(room.id)) {
    const bool late =
        r.event == AccessEvent::kParticipantLeft || r.event == AccessEvent::kInviteRevoked ||
        r.event == AccessEvent::kRoomCancelled || r.event == AccessEvent::kConsultationEnded;
    EXPECT_EQ(recovered(r), late) << r.seq << " " << toString(r.event);
  }
  EXPECT_TRUE(verify().ok()) << verify().summary();
}

// Item 4: a revoke between authorizeJoin and sessionStarted refuses the join.
TEST_F(DurabilityTest, RevokeBeforeTheSessionStartsRefusesTheJoin) {
  Room room = createRoom(RoomMode::kD2P);
  auto pat = invite(room, Role::kPatient, "pat-1");
  ASSERT_TRUE(pat.ok());
  auto grant = authorize(pat->token, room.id);
  ASSERT_TRUE(grant.ok());
  ASSERT_TRUE(revoke(room, pat->invite.id).ok());
  auto started = await<Session>([&](auto done) { svc_->sessionStarted(*grant, done); });
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, "invite_revoked");
  EXPECT_EQ(policyStatus(started.error().code), 403);
  EXPECT_TRUE(svc_->getRoom(room.id)->sessions.empty());
  EXPECT_TRUE(recordsOf(AccessEvent::kParticipantJoined, room.id).empty());
  EXPECT_NE(seqOf(AccessEvent::kJoinRefused, room.id, "", "invite_revoked"), 0u);
}

// Item 4: a revoke or cancel while participant_joined is being written ends the session (the
// media plane is told) and the join is refused, not 201; the log holds the join and the end,
// in that order.
TEST_F(DurabilityTest, RevokeOrCancelWhileTheJoinIsWrittenRefusesIt) {
  for (const bool by_cancel : {false, true}) {
    SCOPED_TRACE(by_cancel ? "cancel" : "revoke");
    Room room = createRoom(RoomMode::kD2P);
    auto pat = invite(room, Role::kPatient, "pat-1");
    ASSERT_TRUE(pat.ok());
    auto grant = authorize(pat->token, room.id);
    ASSERT_TRUE(grant.ok());
    terminator_.ended.clear();
    std::optional<Result<Session>> started;
    std::optional<bool> stopped;
    // sessionStarted has written the session and queued participant_joined; the loop has not
    // run, so its record is not yet acknowledged when the revoke or cancel arrives.
    svc_->sessionStarted(*grant, [&](Result<Session> r) { started.emplace(std::move(r)); });
    ASSERT_FALSE(started.has_value());
    if (by_cancel) {
      svc_->cancelRoom(room.id, [&](Result<Room> r) { stopped = r.ok(); });
    } else {
      svc_->revokeInvite(room.id, pat->invite.id, [&](Result<Invite> r) { stopped = r.ok(); });
    }
    ASSERT_TRUE(spinUntil([&] { return started.has_value() && stopped.has_value(); }));
    EXPECT_TRUE(*stopped);
    ASSERT_FALSE(started->ok());
    const std::string code = by_cancel ? "room_cancelled" : "invite_revoked";
    EXPECT_EQ(started->error().code, code);
    EXPECT_NE(policyStatus(started->error().code), 201);
    const std::string reason = by_cancel ? "cancelled" : "revoked";
    ASSERT_EQ(terminator_.ended.size(), 1u);
    EXPECT_EQ(terminator_.ended[0], std::make_pair(grant->session_id, reason));
    EXPECT_TRUE(svc_->getRoom(room.id)->sessions.empty());
    const uint64_t joined = seqOf(AccessEvent::kParticipantJoined, room.id, grant->session_id);
    const uint64_t left = seqOf(AccessEvent::kParticipantLeft, room.id, grant->session_id, reason);
    ASSERT_NE(joined, 0u);
    ASSERT_NE(left, 0u);
    EXPECT_LT(joined, left);
  }
  EXPECT_TRUE(verify().ok()) << verify().summary();
}

// A cancel while consultation_started is being written: the admission is answered
// room_cancelled, and the log that holds the start holds the end too.
TEST_F(DurabilityTest, CancelWhileTheAdmissionIsWrittenEndsTheConsultation) {
  Room room = createRoom(RoomMode::kD2P);
  int admitted_events = 0;
  svc_->events().subscribe(room.id, Audience::kBackend, [&](const nlohmann::json& e) {
    if (e.value("type", "") == "admitted") ++admitted_events;
  });
  std::optional<Result<Room>> admitted;
  std::optional<Result<Room>> cancelled;
  svc_->admit(room.id, Caller::ofBackend(), [&](Result<Room> r) { admitted.emplace(r); });
  svc_->cancelRoom(room.id, [&](Result<Room> r) { cancelled.emplace(r); });
  ASSERT_TRUE(spinUntil([&] { return admitted.has_value() && cancelled.has_value(); }));
  ASSERT_TRUE(cancelled->ok());
  ASSERT_FALSE(admitted->ok());
  EXPECT_EQ(admitted->error().code, "room_cancelled");
  spin(30);
  EXPECT_EQ(admitted_events, 0);
  EXPECT_EQ(stateOf(room), RoomState::kCancelled);
  const uint64_t started = seqOf(AccessEvent::kConsultationStarted, room.id);
  const uint64_t ended = seqOf(AccessEvent::kConsultationEnded, room.id, "", "cancelled");
  ASSERT_NE(started, 0u);
  ASSERT_NE(ended, 0u);
  EXPECT_LT(started, ended);
  EXPECT_TRUE(spinUntil([&] { return pending().empty(); }));
}

TEST_F(DurabilityTest, ASecondAdmitWaitsForTheFirst) {
  Room room = createRoom(RoomMode::kD2P);
  std::optional<Result<Room>> first;
  std::optional<Result<Room>> second;
  svc_->admit(room.id, Caller::ofBackend(), [&](Result<Room> r) { first.emplace(r); });
  svc_->admit(room.id, Caller::ofBackend(), [&](Result<Room> r) { second.emplace(r); });
  ASSERT_TRUE(spinUntil([&] { return first.has_value() && second.has_value(); }));
  ASSERT_TRUE(first->ok());
  ASSERT_FALSE(second->ok());
  EXPECT_EQ(second->error().code, "already_admitted");
  EXPECT_EQ(recordsOf(AccessEvent::kConsultationStarted, room.id).size(), 1u);
}

// Records of a shutdown that the log refused are kept and written at the next start.
TEST_F(DurabilityTest, ShutdownRecordsTheLogRefusedAreWrittenAtTheNextStart) {
  Room room = createRoom(RoomMode::kD2P);
  auto s = join(token(room, Role::kPatient, "pat-1"), room.id);
  ASSERT_TRUE(s.ok());
  failLog();
  auto drained =
      await<void>([&](auto done) { svc_->endAllSessions("server-shutdown", std::move(done)); });
  EXPECT_TRUE(drained.ok());
  EXPECT_TRUE(svc_->getRoom(room.id)->sessions.empty());
  closeAll();
  faulty_->write_errno = 0;
  openAll();
  auto left = recordsOf(AccessEvent::kParticipantLeft, room.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].reason, "server-shutdown");
  EXPECT_TRUE(recovered(left[0]));
  EXPECT_TRUE(pending().empty());
  EXPECT_TRUE(verify().ok()) << verify().summary();
}

// What a SIGKILL between the store's commit and the log's fdatasync leaves (the change and its
// pending record, with or without the record in the log), made directly, then a start.
class CrashRecoveryTest : public DurabilityTest {
 protected:
  // The change and its pending record in one transaction, as the service writes them; the
  // record is appended to the log too when `logged`.
  void leaveBehind(const AccessRecord& r, bool logged, const std::function<void()>& change = {}) {
    auto tx = store_->begin();
    if (change) change();
    PendingRecord p;
    p.after_seq = log_->durableSeq();
    p.occurred_us = clock_.nowUs();
    p.record = r;
    ASSERT_TRUE(store_->insertPending(p).ok());
    ASSERT_TRUE(tx->commit().ok());
    if (logged) {
      ASSERT_TRUE(log_->appendSync(r).ok());
    }
  }
  Invite rawInvite(const Room& room, Role role, const std::string& id) {
    Invite inv;
    inv.id = id;
    inv.room_id = room.id;
    inv.role = role;
    inv.subject = "subj-" + id;
    inv.token_hash = "hash-" + id;
    inv.created_us = clock_.nowUs();
    inv.expires_us = room.closes_at_us;
    return inv;
  }
  AccessRecord issued(const Invite& inv) {
    AccessRecord r;
    r.event = AccessEvent::kInviteIssued;
    r.room = inv.room_id;
    r.invite = inv.id;
    r.role = std::string(toString(inv.role));
    r.subject = inv.subject;
    return r;
  }
};

TEST_F(CrashRecoveryTest, StartSettlesEveryPendingRecordAgainstTheLog) {
  Room room = createRoom(RoomMode::kD2PWithN);
  Room other = createRoom(RoomMode::kD2P);
  Room waiting = createRoom(RoomMode::kD2P);
  const Invite unlogged = rawInvite(room, Role::kPatient, "inv_unlogged");
  const Invite logged = rawInvite(room, Role::kDoctor, "inv_logged");
  leaveBehind(issued(unlogged), false, [&] { ASSERT_TRUE(store_->insertInvite(unlogged).ok()); });
  leaveBehind(issued(logged), true, [&] { ASSERT_TRUE(store_->insertInvite(logged).ok()); });

  // A session whose participant_joined never reached the log, one whose did.
  auto nurse = invite(room, Role::kNurse, "nurse-1");
  ASSERT_TRUE(nurse.ok());
  Session lost;
  lost.id = "ses_lost";
  lost.room_id = room.id;
  lost.invite_id = nurse->invite.id;
  lost.role = Role::kNurse;
  lost.subject = "nurse-1";
  lost.started_us = clock_.nowUs();
  AccessRecord joined;
  joined.event = AccessEvent::kParticipantJoined;
  joined.room = room.id;
  joined.invite = lost.invite_id;
  joined.session = lost.id;
  leaveBehind(joined, false, [&] { ASSERT_TRUE(store_->insertSession(lost).ok()); });

  // Owed records: one missing from the log, one already there (not written twice).
  AccessRecord edited;
  edited.event = AccessEvent::kRoomEdited;
  edited.room = other.id;
  edited.detail = {{"fields", {"title"}}};
  const int64_t edited_at = clock_.nowUs();
  leaveBehind(edited, false);
  AccessRecord revoked;
  revoked.event = AccessEvent::kInviteRevoked;
  revoked.room = other.id;
  revoked.invite = "inv_gone";
  revoked.reason = "revoked";
  leaveBehind(revoked, true);

  // Admissions: one logged (completed at start), one not (the room keeps waiting).
  AccessRecord started;
  started.event = AccessEvent::kConsultationStarted;
  started.room = other.id;
  started.detail = {{"by", "backend"}};
  const int64_t admitted_at = clock_.nowUs();
  leaveBehind(started, true);
  started.room = waiting.id;
  leaveBehind(started, false);

  closeAll();
  clock_.advance(std::chrono::minutes(2));
  openAll();

  auto invites = svc_->listInvites(room.id);
  ASSERT_TRUE(invites.ok());
  std::vector<std::string> ids;
  for (const auto& i : *invites) ids.push_back(i.id);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "inv_unlogged"), 0);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "inv_logged"), 1);
  EXPECT_EQ(recordsOf(AccessEvent::kInviteIssued, room.id).size(), 2u);  // nurse + logged
  EXPECT_TRUE(svc_->getRoom(room.id)->sessions.empty());
  // The unlogged session is undone, not ended: no participant_left without a participant_joined.
  EXPECT_TRUE(recordsOf(AccessEvent::kParticipantLeft, room.id).empty());

  auto edits = recordsOf(AccessEvent::kRoomEdited, other.id);
  ASSERT_EQ(edits.size(), 1u);
  EXPECT_TRUE(recovered(edits[0]));
  EXPECT_EQ(edits[0].detail.value("occurred_at", ""), formatTime(edited_at));
  EXPECT_EQ(recordsOf(AccessEvent::kInviteRevoked, other.id).size(), 1u);

  auto admitted = svc_->getRoom(other.id);
  EXPECT_EQ(admitted->room.state, RoomState::kInConsultation);
  EXPECT_EQ(admitted->room.admitted_us, admitted_at);
  EXPECT_EQ(recordsOf(AccessEvent::kConsultationStarted, other.id).size(), 1u);
  EXPECT_EQ(stateOf(waiting), RoomState::kScheduled);
  EXPECT_TRUE(recordsOf(AccessEvent::kConsultationStarted, waiting.id).empty());
  EXPECT_TRUE(pending().empty());
  EXPECT_TRUE(verify().ok()) << verify().summary();

  // A second start finds nothing to settle.
  const size_t before = records().size();
  closeAll();
  openAll();
  EXPECT_EQ(records().size(), before + 1);  // log_reopened only
}

// A logged admission of a room that was cancelled before the crash: the start-up completes it as
// an ended consultation.
TEST_F(CrashRecoveryTest, ALoggedAdmissionOfACancelledRoomGetsItsEnd) {
  Room room = createRoom(RoomMode::kD2P);
  AccessRecord started;
  started.event = AccessEvent::kConsultationStarted;
  started.room = room.id;
  started.detail = {{"by", "backend"}};
  leaveBehind(started, true);
  ASSERT_TRUE(cancel(room).ok());  // saw the room waiting: no consultation_ended of its own
  closeAll();
  openAll();
  ASSERT_TRUE(spinUntil([&] { return pending().empty(); }));
  const uint64_t ended = seqOf(AccessEvent::kConsultationEnded, room.id, "", "cancelled");
  ASSERT_NE(ended, 0u);
  EXPECT_LT(seqOf(AccessEvent::kConsultationStarted, room.id), ended);
  EXPECT_EQ(stateOf(room), RoomState::kCancelled);
}

}  // namespace
}  // namespace medrelay::control

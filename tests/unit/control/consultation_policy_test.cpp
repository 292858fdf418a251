// One test per consultation rule (docs/policy.md), against a real SQLite store and a real access
// log on disk, driven through the control dispatcher.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/consultation_requests.h"
#include "control/policy.h"
#include "tests/unit/control/consultation_test_fixture.h"

namespace medrelay::control {
namespace {

using testutil::kHourUs;
using testutil::kMinuteUs;

class ConsultationPolicyTest : public testutil::ConsultationFixture {};

// Rule 1.
TEST_F(ConsultationPolicyTest, OneLiveDoctorAndOnePatientInvitePerRoom) {
  Room room = createRoom(RoomMode::kD2P);
  auto doctor = invite(room, Role::kDoctor, "doc-1");
  ASSERT_TRUE(doctor.ok());
  ASSERT_TRUE(invite(room, Role::kPatient, "pat-1").ok());
  auto second_doctor = invite(room, Role::kDoctor, "doc-2");
  ASSERT_FALSE(second_doctor.ok());
  EXPECT_EQ(second_doctor.error().code, "doctor_already_invited");
  EXPECT_EQ(policyStatus(second_doctor.error().code), 409);
  auto second_patient = invite(room, Role::kPatient, "pat-2");
  ASSERT_FALSE(second_patient.ok());
  EXPECT_EQ(second_patient.error().code, "patient_already_invited");

  // A revoked doctor invite frees the seat.
  auto revoked = await<Invite>(
      [&](auto done) { svc_->revokeInvite(room.id, doctor->invite.id, std::move(done)); });
  ASSERT_TRUE(revoked.ok());
  EXPECT_NE(revoked->revoked_us, 0);
  EXPECT_TRUE(invite(room, Role::kDoctor, "doc-2").ok());
  EXPECT_EQ(svc_->counters().refused("doctor", "doctor_already_invited"), 1u);
  EXPECT_EQ(svc_->counters().refused("patient", "patient_already_invited"), 1u);
  // The token is only ever returned once: the listing has no token and no hash.
  auto list = svc_->listInvites(room.id);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 3u);
  for (const auto& i : *list) {
    const auto j = toJson(i);
    EXPECT_FALSE(j.contains("token"));
    EXPECT_FALSE(j.contains("token_hash"));
  }
}

// Rule 2, D to P with N: several nurses, each with consent.
TEST_F(ConsultationPolicyTest, DoctorToPatientWithTwoNurses) {
  Room room = createRoom(RoomMode::kD2PWithN);
  const auto doc = token(room, Role::kDoctor, "doc-1");
  const auto pat = token(room, Role::kPatient, "pat-1");
  const auto n1 = token(room, Role::kNurse, "nurse-1");
  const auto n2 = token(room, Role::kNurse, "nurse-2");
  for (const auto* t : {&doc, &pat, &n1, &n2}) {
    auto s = join(*t, room.id);
    EXPECT_TRUE(s.ok()) << s.error().code;
  }
  auto detail = svc_->getRoom(room.id);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->sessions.size(), 4u);
  auto no_consent = invite(room, Role::kNurse, "nurse-3", false);
  ASSERT_FALSE(no_consent.ok());
  EXPECT_EQ(no_consent.error().code, "consent_required");
  EXPECT_EQ(policyStatus("consent_required"), 422);
  // Not in the other modes.
  Room plain = createRoom(RoomMode::kD2P);
  auto nurse = invite(plain, Role::kNurse, "nurse-1");
  ASSERT_FALSE(nurse.ok());
  EXPECT_EQ(nurse.error().code, "role_not_allowed_in_mode");
  Room with_d = createRoom(RoomMode::kD2PWithD);
  EXPECT_EQ(invite(with_d, Role::kNurse, "nurse-1").error().code, "role_not_allowed_in_mode");
}

// Rule 2, D to P with D: one attending doctor.
TEST_F(ConsultationPolicyTest, DoctorToPatientWithAttendingDoctorAllowsOnlyOne) {
  Room room = createRoom(RoomMode::kD2PWithD);
  ASSERT_TRUE(invite(room, Role::kAttendingDoctor, "gp-1").ok());
  auto second = invite(room, Role::kAttendingDoctor, "gp-2");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "attending_doctor_already_invited");
  Room n = createRoom(RoomMode::kD2PWithN);
  EXPECT_EQ(invite(n, Role::kAttendingDoctor, "gp-1").error().code, "role_not_allowed_in_mode");
}

// Rule 2, supporters: any mode, always with consent.
TEST_F(ConsultationPolicyTest, SupporterNeedsConsentInEveryMode) {
  for (RoomMode mode : {RoomMode::kD2P, RoomMode::kD2PWithN, RoomMode::kD2PWithD}) {
    Room room = createRoom(mode);
    auto without = invite(room, Role::kSupporter, "family-1", false);
    ASSERT_FALSE(without.ok());
    EXPECT_EQ(without.error().code, "consent_required");
    auto with = invite(room, Role::kSupporter, "family-1", true);
    ASSERT_TRUE(with.ok()) << with.error().code;
    ASSERT_TRUE(with->invite.consent.has_value());
    EXPECT_EQ(with->invite.consent->given_by, "patient-1");
    EXPECT_EQ(with->invite.consent->role, Role::kSupporter);
  }
  // The consent record is stored and logged with the invite.
  auto issued = recordsOf(AccessEvent::kInviteIssued);
  ASSERT_EQ(issued.size(), 3u);
  EXPECT_EQ(issued[0].detail.value("consent_given_by", ""), "patient-1");
  EXPECT_EQ(svc_->counters().refused("supporter", "consent_required"), 3u);
}

// Rule 3 and the facility queue: one doctor subject, rooms held one after another.
TEST_F(ConsultationPolicyTest, DoctorIsLiveInOneRoomAtATimeAcrossAFacilityQueue) {
  std::vector<Room> rooms;
  std::vector<std::string> doctor_tokens, patient_tokens;
  for (int i = 0; i < 3; ++i) {
    rooms.push_back(createRoom(RoomMode::kD2P));
    doctor_tokens.push_back(token(rooms[i], Role::kDoctor, "doc-queue"));
    patient_tokens.push_back(token(rooms[i], Role::kPatient, "pat-" + std::to_string(i)));
    // Every patient waits in their own room meanwhile.
    ASSERT_TRUE(join(patient_tokens[i], rooms[i].id).ok());
  }
  for (int i = 0; i < 3; ++i) {
    auto pub = join(doctor_tokens[i], rooms[i].id, SessionKind::kPublish);
    ASSERT_TRUE(pub.ok()) << i << " " << pub.error().code;
    auto sub = join(doctor_tokens[i], rooms[i].id, SessionKind::kSubscribe);
    ASSERT_TRUE(sub.ok());  // a second session in the same room is not "another room"
    if (i + 1 < 3) {
      auto early = authorize(doctor_tokens[i + 1], rooms[i + 1].id);
      ASSERT_FALSE(early.ok());
      EXPECT_EQ(early.error().code, "doctor_busy");
      EXPECT_EQ(policyStatus("doctor_busy"), 409);
    }
    ASSERT_TRUE(await<Room>([&](auto done) {
                  svc_->admit(rooms[i].id, Caller::ofBackend(), std::move(done));
                }).ok());
    if (i == 0) {
      // Leaving (both sessions) frees the doctor too.
      ASSERT_TRUE(leave(pub->id).ok());
      EXPECT_EQ(authorize(doctor_tokens[1], rooms[1].id).error().code, "doctor_busy");
      ASSERT_TRUE(leave(sub->id).ok());
    } else {
      // Ending the consultation ends every session in it.
      auto ended = await<Room>([&](auto done) {
        svc_->endConsultation(rooms[i].id, Caller::ofParticipant(doctor_tokens[i], "192.0.2.10:1"),
                              std::move(done));
      });
      ASSERT_TRUE(ended.ok()) << ended.error().code;
      EXPECT_EQ(ended->state, RoomState::kEnded);
    }
  }
  EXPECT_EQ(svc_->counters().refused("doctor", "doctor_busy"), 3u);
  EXPECT_EQ(recordsOf(AccessEvent::kConsultationStarted).size(), 3u);
  EXPECT_EQ(recordsOf(AccessEvent::kConsultationEnded).size(), 2u);
}

// Rule 4: every kind of bad join has its own error.
TEST_F(ConsultationPolicyTest, JoinRefusalsAreDistinct) {
  const int64_t start = clock_.nowUs() + 3 * kHourUs;
  Room room = createRoom(RoomMode::kD2P, start);
  Room other = createRoom(RoomMode::kD2P, start);
  const auto pat = token(room, Role::kPatient, "pat-1");
  auto revoked = invite(room, Role::kDoctor, "doc-1");
  ASSERT_TRUE(revoked.ok());
  ASSERT_TRUE(await<Invite>([&](auto done) {
                svc_->revokeInvite(room.id, revoked->invite.id, std::move(done));
              }).ok());
  Room cancelled = createRoom(RoomMode::kD2P);
  const auto cancelled_tok = token(cancelled, Role::kPatient, "pat-2");
  ASSERT_TRUE(
      await<Room>([&](auto done) { svc_->cancelRoom(cancelled.id, std::move(done)); }).ok());

  auto code = [&](const std::string& tok, const std::string& room_id) {
    auto r = authorize(tok, room_id);
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code("mri_" + std::string(43, 'A'), room.id), "invalid_token");
  EXPECT_EQ(code("garbage", room.id), "invalid_token");
  EXPECT_EQ(code(revoked->token, room.id), "invite_revoked");
  EXPECT_EQ(code(cancelled_tok, cancelled.id), "room_cancelled");
  EXPECT_EQ(code(pat, other.id), "wrong_room");

  auto early = authorize(pat, room.id);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "not_yet_open");
  const auto body = errorBody(early.error());
  EXPECT_EQ(body["opens_at"], formatTime(start - kHourUs));
  EXPECT_EQ(body["message_ja"],
            "このビデオ通話は開始前です。開始1時間前より待機することができます。");
  EXPECT_NE(body["message"].get<std::string>().find("one hour before"), std::string::npos);

  clock_.set(start - kHourUs);  // the waiting room opens one hour before the start
  EXPECT_EQ(code(pat, room.id), "ok");
  clock_.set(start + 24 * kHourUs);  // until the same time the next day
  EXPECT_EQ(code(pat, room.id), "window_closed");

  EXPECT_EQ(policyStatus("invalid_token"), 401);
  for (const char* c :
       {"invite_revoked", "room_cancelled", "wrong_room", "not_yet_open", "window_closed"}) {
    EXPECT_EQ(policyStatus(c), 403) << c;
  }
  // Each refusal is an access-log record with its reason.
  std::vector<std::string> reasons;
  for (const auto& r : recordsOf(AccessEvent::kJoinRefused)) reasons.push_back(r.reason);
  for (const char* c : {"invalid_token", "invite_revoked", "room_cancelled", "wrong_room",
                        "not_yet_open", "window_closed"}) {
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), c), reasons.end()) << c;
  }
}

// Rule 4: failed authentications are rate-limited per address.
TEST_F(ConsultationPolicyTest, FailedAuthenticationsAreRateLimitedPerAddress) {
  Room room = createRoom(RoomMode::kD2P);
  const auto pat = token(room, Role::kPatient, "pat-1");
  const std::string bad = "mri_" + std::string(43, 'B');
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(authorize(bad, room.id, SessionKind::kPublish, "198.51.100.7:" + std::to_string(i))
                  .error()
                  .code,
              "invalid_token");
  }
  // Out of tokens: even a valid token from that address waits; the port does not matter.
  auto limited = authorize(pat, room.id, SessionKind::kPublish, "198.51.100.7:9999");
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, "rate_limited");
  EXPECT_EQ(policyStatus("rate_limited"), 429);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(authorize(bad, room.id, SessionKind::kPublish, "198.51.100.7:1").error().code,
              "rate_limited");
  }
  // Another address is not affected.
  EXPECT_TRUE(authorize(pat, room.id, SessionKind::kPublish, "203.0.113.5:1").ok());
  // A burst of refusals leaves one rate_limited record, all of them counted.
  std::vector<AccessRecord> limited_records;
  for (const auto& r : recordsOf(AccessEvent::kJoinRefused)) {
    if (r.reason == "rate_limited") limited_records.push_back(r);
  }
  EXPECT_EQ(limited_records.size(), 1u);
  EXPECT_EQ(svc_->counters().refusedTotal("rate_limited"), 6u);
  // Tokens come back with time (one every 5 s).
  clock_.advance(std::chrono::seconds(6));
  EXPECT_TRUE(authorize(pat, room.id, SessionKind::kPublish, "198.51.100.7:1").ok());
}

// Rule 5: one live publish session per invite; a stale one is taken over.
TEST_F(ConsultationPolicyTest, SecondPublishIsRefusedUnlessTheFirstIsStale) {
  Room room = createRoom(RoomMode::kD2P);
  const auto pat = token(room, Role::kPatient, "pat-1");
  auto first = join(pat, room.id);
  ASSERT_TRUE(first.ok());
  auto second = authorize(pat, room.id, SessionKind::kPublish, "192.0.2.99:7000");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "already_connected");
  EXPECT_EQ(policyStatus("already_connected"), 409);

  ASSERT_TRUE(svc_->markStale(first->id).ok());
  auto takeover = join(pat, room.id, SessionKind::kPublish, "192.0.2.99:7000");
  ASSERT_TRUE(takeover.ok()) << takeover.error().code;
  ASSERT_EQ(terminator_.ended.size(), 1u);
  EXPECT_EQ(terminator_.ended[0], std::make_pair(first->id, std::string("takeover")));
  auto detail = svc_->getRoom(room.id);
  ASSERT_EQ(detail->sessions.size(), 1u);
  EXPECT_EQ(detail->sessions[0].id, takeover->id);
  EXPECT_FALSE(detail->sessions[0].stale);
  auto left = recordsOf(AccessEvent::kParticipantLeft);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].reason, "takeover");
  EXPECT_EQ(left[0].session, first->id);
}

// Rule 5: a rejoin takes over the stale publish session and the dead page's stale subscriptions,
// not a fresh one nor one the new page opened after the silence began; the others see peer-lost,
// peer-restored, then joined.
TEST_F(ConsultationPolicyTest, TakeoverEndsTheStaleSubscriptionsOfTheInviteToo) {
  Room room = createRoom(RoomMode::kD2P);
  std::vector<std::string> seen;
  svc_->events().subscribe(room.id, Audience::kBackend, [&](const nlohmann::json& e) {
    seen.push_back(e["type"].get<std::string>() + ":" + e.value("session_id", ""));
  });
  const auto pat = token(room, Role::kPatient, "pat-1");
  auto pub = join(pat, room.id);
  auto old_sub = join(pat, room.id, SessionKind::kSubscribe);
  auto new_sub = join(pat, room.id, SessionKind::kSubscribe);
  ASSERT_TRUE(pub.ok() && old_sub.ok() && new_sub.ok());
  // A silent subscription tells the others nothing; a silent publish session does.
  ASSERT_TRUE(svc_->markStale(old_sub->id).ok());
  ASSERT_TRUE(svc_->markStale(pub->id).ok());
  ASSERT_TRUE(svc_->markStale(pub->id, false).ok());
  // The call goes on, then the phone dies; 1 s later the new page opens a subscription that is
  // still setting up (and so also stale) when its publish joins: it is not the dead page's and
  // stays.
  clock_.advance(std::chrono::seconds(30));
  const int64_t died = clock_.nowUs();
  clock_.advance(std::chrono::seconds(1));
  auto young_sub = join(pat, room.id, SessionKind::kSubscribe);
  ASSERT_TRUE(young_sub.ok());
  ASSERT_TRUE(svc_->markStale(young_sub->id).ok());
  ASSERT_TRUE(svc_->markStale(pub->id, true, died).ok());
  auto takeover = join(pat, room.id);
  ASSERT_TRUE(takeover.ok()) << takeover.error().code;
  spin(20);

  EXPECT_THAT(terminator_.ended, ::testing::UnorderedElementsAre(
                                     std::make_pair(pub->id, std::string("takeover")),
                                     std::make_pair(old_sub->id, std::string("takeover"))));
  auto detail = svc_->getRoom(room.id);
  std::vector<std::string> live;
  for (const auto& x : detail->sessions) live.push_back(x.id);
  EXPECT_THAT(live, ::testing::UnorderedElementsAre(takeover->id, new_sub->id, young_sub->id));
  std::vector<std::string> left;
  for (const auto& r : recordsOf(AccessEvent::kParticipantLeft)) {
    EXPECT_EQ(r.reason, "takeover");
    left.push_back(r.session);
  }
  EXPECT_THAT(left, ::testing::UnorderedElementsAre(pub->id, old_sub->id));
  EXPECT_EQ(seen, (std::vector<std::string>{"joined:" + pub->id, "published:" + pub->id,
                                            "peer-lost:" + pub->id, "peer-restored:" + pub->id,
                                            "peer-lost:" + pub->id, "joined:" + takeover->id,
                                            "published:" + takeover->id}));
}

// Rule 5: the check is repeated when the session starts (two grants raced).
TEST_F(ConsultationPolicyTest, RacingGrantsCannotBothStart) {
  Room room = createRoom(RoomMode::kD2P);
  const auto pat = token(room, Role::kPatient, "pat-1");
  auto g1 = authorize(pat, room.id);
  auto g2 = authorize(pat, room.id);
  ASSERT_TRUE(g1.ok() && g2.ok());
  ASSERT_TRUE(await<Session>([&](auto done) { svc_->sessionStarted(*g1, std::move(done)); }).ok());
  auto s2 = await<Session>([&](auto done) { svc_->sessionStarted(*g2, std::move(done)); });
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().code, "already_connected");
}

// Rule 6: the waiting room, and admission by the doctor only.
TEST_F(ConsultationPolicyTest, WaitingRoomUntilTheDoctorAdmits) {
  Room room = createRoom(RoomMode::kD2PWithN);
  auto doc = invite(room, Role::kDoctor, "doc-1");
  auto pat = invite(room, Role::kPatient, "pat-1");
  auto nurse = invite(room, Role::kNurse, "nurse-1");
  ASSERT_TRUE(doc.ok() && pat.ok() && nurse.ok());
  const Invite& d = doc->invite;
  const Invite& p = pat->invite;
  const Invite& n = nurse->invite;
  // Before admission: the doctor sees the patient side; the patient side receives nothing.
  EXPECT_TRUE(canReceive(room, d, p));
  EXPECT_TRUE(canReceive(room, d, n));
  EXPECT_FALSE(canReceive(room, p, d));
  EXPECT_FALSE(canReceive(room, n, p));
  EXPECT_FALSE(canReceive(room, p, n));
  EXPECT_FALSE(canReceive(room, d, d));

  // A patient token can neither admit nor act as the doctor.
  auto by_patient = await<Room>([&](auto done) {
    svc_->admit(room.id, Caller::ofParticipant(pat->token, "192.0.2.5:1"), std::move(done));
  });
  ASSERT_FALSE(by_patient.ok());
  EXPECT_EQ(by_patient.error().code, "forbidden_role");
  EXPECT_EQ(policyStatus("forbidden_role"), 403);
  auto end_by_patient = await<Room>([&](auto done) {
    svc_->endConsultation(room.id, Caller::ofParticipant(pat->token, "192.0.2.5:1"),
                          std::move(done));
  });
  EXPECT_EQ(end_by_patient.error().code, "forbidden_role");
  auto info = svc_->participantInfo(pat->token, room.id, "192.0.2.5:1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, Role::kPatient);  // the patient's token is a patient's, whatever it asks

  auto admitted = await<Room>([&](auto done) {
    svc_->admit(room.id, Caller::ofParticipant(doc->token, "192.0.2.4:1"), std::move(done));
  });
  ASSERT_TRUE(admitted.ok()) << admitted.error().code;
  EXPECT_EQ(admitted->effectiveState(clock_.nowUs()), RoomState::kInConsultation);
  EXPECT_TRUE(canReceive(*admitted, p, d));
  EXPECT_TRUE(canReceive(*admitted, n, p));
  auto again =
      await<Room>([&](auto done) { svc_->admit(room.id, Caller::ofBackend(), std::move(done)); });
  EXPECT_EQ(again.error().code, "already_admitted");
  auto started = recordsOf(AccessEvent::kConsultationStarted);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].invite, d.id);
  EXPECT_EQ(started[0].role, "doctor");
  // A revoked invite, another room's invite, or an ended room receive nothing.
  Invite revoked = p;
  revoked.revoked_us = 1;
  EXPECT_FALSE(canReceive(*admitted, d, revoked));
  Invite elsewhere = p;
  elsewhere.room_id = "rm_other";
  EXPECT_FALSE(canReceive(*admitted, d, elsewhere));
  Room ended = *admitted;
  ended.state = RoomState::kEnded;
  EXPECT_FALSE(canReceive(ended, d, p));
}

// Rule 7: cancel and revoke stop media at once (the terminator is told before the answer).
TEST_F(ConsultationPolicyTest, CancelAndRevokeEndSessionsAtOnce) {
  Room room = createRoom(RoomMode::kD2PWithN);
  const auto doc = token(room, Role::kDoctor, "doc-1");
  const auto pat = token(room, Role::kPatient, "pat-1");
  const auto nurse = invite(room, Role::kNurse, "nurse-1");
  auto sd = join(doc, room.id);
  auto sp = join(pat, room.id);
  auto sn = join(nurse->token, room.id);
  ASSERT_TRUE(sd.ok() && sp.ok() && sn.ok());

  bool answered = false;
  svc_->revokeInvite(room.id, nurse->invite.id, [&](Result<Invite>) { answered = true; });
  ASSERT_EQ(terminator_.ended.size(), 1u);  // synchronously, before the record is durable
  EXPECT_FALSE(answered);
  EXPECT_EQ(terminator_.ended[0], std::make_pair(sn->id, std::string("revoked")));
  spin(50);
  EXPECT_TRUE(answered);
  EXPECT_EQ(authorize(nurse->token, room.id).error().code, "invite_revoked");

  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->admit(room.id, Caller::ofBackend(), std::move(done));
              }).ok());
  auto cancelled = await<Room>([&](auto done) { svc_->cancelRoom(room.id, std::move(done)); });
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, RoomState::kCancelled);
  ASSERT_EQ(terminator_.ended.size(), 3u);
  EXPECT_EQ(terminator_.ended[1].second, "cancelled");
  EXPECT_EQ(terminator_.ended[2].second, "cancelled");
  EXPECT_TRUE(svc_->getRoom(room.id)->sessions.empty());
  auto invites = svc_->listInvites(room.id);
  ASSERT_TRUE(invites.ok());
  for (const auto& i : *invites) EXPECT_FALSE(i.live());
  EXPECT_EQ(authorize(doc, room.id).error().code, "room_cancelled");
  // Cancel revoked the two remaining invites and ended the consultation that had started.
  std::vector<std::string> revoke_reasons;
  for (const auto& r : recordsOf(AccessEvent::kInviteRevoked)) revoke_reasons.push_back(r.reason);
  EXPECT_EQ(revoke_reasons, (std::vector<std::string>{"revoked", "cancelled", "cancelled"}));
  auto ended = recordsOf(AccessEvent::kConsultationEnded);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason, "cancelled");
}

// Rule 7: window end, through the control dispatcher's timer.
TEST_F(ConsultationPolicyTest, WindowEndEndsSessionsAndClosesTheRoom) {
  Room room = createRoom(RoomMode::kD2P);
  const auto doc = token(room, Role::kDoctor, "doc-1");
  const auto pat = token(room, Role::kPatient, "pat-1");
  ASSERT_TRUE(join(doc, room.id).ok());
  ASSERT_TRUE(join(pat, room.id).ok());
  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->admit(room.id, Caller::ofBackend(), std::move(done));
              }).ok());
  clock_.set(room.closes_at_us - kMinuteUs);
  spin(60);
  EXPECT_TRUE(terminator_.ended.empty());
  clock_.set(room.closes_at_us);
  spin(100);  // the timer ticks every 20 ms in the fixture
  ASSERT_EQ(terminator_.ended.size(), 2u);
  EXPECT_EQ(terminator_.ended[0].second, "window-closed");
  auto detail = svc_->getRoom(room.id);
  EXPECT_EQ(detail->room.state, RoomState::kEnded);
  EXPECT_EQ(detail->room.end_reason, "window-closed");
  EXPECT_TRUE(detail->sessions.empty());
  auto ended = recordsOf(AccessEvent::kConsultationEnded, room.id);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].reason, "window-closed");
  EXPECT_EQ(recordsOf(AccessEvent::kParticipantLeft, room.id).size(), 2u);
  EXPECT_EQ(authorize(pat, room.id).error().code, "room_ended");
}

// "now" rooms open at once; scheduled ones are "scheduled" until an hour before.
TEST_F(ConsultationPolicyTest, NowRoomsOpenAtOnce) {
  Room now_room = createRoom(RoomMode::kD2P);
  EXPECT_EQ(now_room.scheduled_start_us, clock_.nowUs());
  EXPECT_EQ(now_room.effectiveState(clock_.nowUs()), RoomState::kOpen);
  EXPECT_TRUE(join(token(now_room, Role::kPatient, "pat-1"), now_room.id).ok());
  Room later = createRoom(RoomMode::kD2P, clock_.nowUs() + 2 * kHourUs);
  EXPECT_EQ(later.effectiveState(clock_.nowUs()), RoomState::kScheduled);
  EXPECT_EQ(later.opens_at_us, later.scheduled_start_us - kHourUs);
  EXPECT_EQ(later.closes_at_us, later.scheduled_start_us + 24 * kHourUs);
}

}  // namespace
}  // namespace medrelay::control

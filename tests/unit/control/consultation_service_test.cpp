// ConsultationService beyond the policy rules: events, the access log, restart, edits, the
// participant view, and an unhealthy access log.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>

#include "control/consultation_requests.h"
#include "control/policy.h"
#include "tests/unit/control/consultation_test_fixture.h"

namespace medrelay::control {
namespace {

using testutil::kHourUs;

class ConsultationServiceTest : public testutil::ConsultationFixture {};

TEST_F(ConsultationServiceTest, EventsNeverCarrySubjectsToParticipants) {
  Room room = createRoom(RoomMode::kD2PWithN);
  std::vector<nlohmann::json> seen_by_patient, seen_by_backend;
  svc_->events().subscribe(room.id, Audience::kParticipant,
                           [&](const nlohmann::json& e) { seen_by_patient.push_back(e); });
  svc_->events().subscribe(room.id, Audience::kBackend,
                           [&](const nlohmann::json& e) { seen_by_backend.push_back(e); });
  const auto doc = token(room, Role::kDoctor, "subj-doctor-77");
  const auto pat = token(room, Role::kPatient, "subj-patient-88");
  auto nurse = invite(room, Role::kNurse, "subj-nurse-99");
  auto sd = join(doc, room.id);
  auto sp = join(pat, room.id);
  auto sn = join(nurse->token, room.id);
  ASSERT_TRUE(sd.ok() && sp.ok() && sn.ok());
  ASSERT_TRUE(join(pat, room.id, SessionKind::kSubscribe).ok());  // no second "joined"
  ASSERT_TRUE(svc_->markStale(sp->id).ok());
  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->admit(room.id, Caller::ofBackend(), std::move(done));
              }).ok());
  ASSERT_TRUE(leave(sd->id).ok());
  ASSERT_TRUE(await<Invite>([&](auto done) {
                svc_->revokeInvite(room.id, nurse->invite.id, std::move(done));
              }).ok());
  ASSERT_TRUE(await<Room>([&](auto done) { svc_->cancelRoom(room.id, std::move(done)); }).ok());
  spin(20);

  std::vector<std::string> types;
  for (const auto& e : seen_by_patient) {
    types.push_back(e["type"]);
    EXPECT_FALSE(e.contains("subject")) << e.dump();
    EXPECT_FALSE(e.contains("session_id")) << e.dump();
    const std::string text = e.dump();
    for (const char* subj : {"subj-doctor-77", "subj-patient-88", "subj-nurse-99"}) {
      EXPECT_EQ(text.find(subj), std::string::npos) << text;
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"joined", "published", "joined", "published", "joined",
                                             "published", "peer-lost", "admitted", "left", "left",
                                             "left", "cancelled"}));
  // Role and invite id are what participants learn about each other.
  EXPECT_EQ(seen_by_patient[0]["role"], "doctor");
  EXPECT_TRUE(seen_by_patient[0].contains("invite_id"));
  EXPECT_EQ(seen_by_patient[8]["reason"], "hangup");
  EXPECT_EQ(seen_by_patient[9]["reason"], "revoked");
  // The backend sees who.
  ASSERT_EQ(seen_by_backend.size(), seen_by_patient.size());
  EXPECT_EQ(seen_by_backend[0]["subject"], "subj-doctor-77");
}

// Audio first: the media plane's pause of a subscription reaches its own participant and, for
// the patient's, the doctor — not the nurse, whose stream sees only its own links.
TEST_F(ConsultationServiceTest, VideoPausedReachesItsParticipantAndTheDoctorOnly) {
  Room room = createRoom(RoomMode::kD2PWithN);
  const auto doc = invite(room, Role::kDoctor, "subj-d");
  const auto pat = invite(room, Role::kPatient, "subj-p");
  const auto nurse = invite(room, Role::kNurse, "subj-n");
  std::map<std::string, std::vector<nlohmann::json>> seen;
  ASSERT_TRUE(doc.ok() && pat.ok() && nurse.ok());
  for (const auto* who : {&doc.value(), &pat.value(), &nurse.value()}) {
    const std::string name{toString(who->invite.role)};
    svc_->events().subscribe(
        room.id, Audience::kParticipant,
        [&seen, name](const nlohmann::json& e) {
          if (e["type"] == "video_paused" || e["type"] == "video_resumed") seen[name].push_back(e);
        },
        who->invite.id, {}, who->invite.role);
  }
  auto patientSub = join(pat->token, room.id, SessionKind::kSubscribe);
  auto nurseSub = join(nurse->token, room.id, SessionKind::kSubscribe);
  ASSERT_TRUE(patientSub.ok() && nurseSub.ok());
  svc_->sessionVideoPaused(patientSub->id, true);
  svc_->sessionVideoPaused(nurseSub->id, true);
  svc_->sessionVideoPaused(patientSub->id, false);
  svc_->sessionVideoPaused("no-such-session", true);  // ended meanwhile: nothing
  spin(20);
  ASSERT_EQ(seen["patient"].size(), 2u);
  EXPECT_EQ(seen["patient"][0]["type"], "video_paused");
  EXPECT_EQ(seen["patient"][0]["reason"], "bandwidth");
  EXPECT_EQ(seen["patient"][0]["direction"], "subscribe");
  EXPECT_EQ(seen["patient"][1]["type"], "video_resumed");
  ASSERT_EQ(seen["doctor"].size(), 2u);  // the patient's, not the nurse's
  EXPECT_EQ(seen["doctor"][0]["role"], "patient");
  ASSERT_EQ(seen["nurse"].size(), 1u);
  EXPECT_EQ(seen["nurse"][0]["invite_id"], nurse->invite.id);
  EXPECT_FALSE(seen["nurse"][0].contains("subject"));
}

TEST_F(ConsultationServiceTest, EventQueuesAreBounded) {
  RoomEventBus bus(dispatcher_, 4);
  std::vector<std::string> got;
  const auto id = bus.subscribe("rm_x", Audience::kParticipant,
                                [&](const nlohmann::json& e) { got.push_back(e["reason"]); });
  bus.subscribe("rm_other", Audience::kParticipant, [&](const nlohmann::json&) { FAIL(); });
  for (int i = 0; i < 10; ++i) {
    bus.publish(RoomEvent{RoomEventType::kLeft, "rm_x", "inv", Role::kNurse, "s", "ses",
                          std::to_string(i), clock_.nowUs()});
  }
  EXPECT_TRUE(got.empty());  // never inside publish()
  spin(10);
  EXPECT_EQ(got, (std::vector<std::string>{"6", "7", "8", "9"}));
  EXPECT_EQ(bus.dropped(), 6u);
  bus.unsubscribe(id);
  bus.publish(RoomEvent{RoomEventType::kLeft, "rm_x", "inv", Role::kNurse, "s", "ses", "x", 0});
  spin(10);
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ(bus.subscribers("rm_x"), 0u);
}

TEST_F(ConsultationServiceTest, AccessLogHoldsEveryChangeAndRefusal) {
  Room room = createRoom(RoomMode::kD2P);
  auto doc = invite(room, Role::kDoctor, "doc-1");
  auto pat = invite(room, Role::kPatient, "pat-1");
  ASSERT_FALSE(invite(room, Role::kNurse, "nurse-1").ok());  // refused: mode
  PatchRoomRequest patch;
  patch.title = "second visit";
  ASSERT_TRUE(
      await<Room>([&](auto done) { svc_->patchRoom(room.id, patch, std::move(done)); }).ok());
  auto s = join(pat->token, room.id);
  ASSERT_TRUE(s.ok());
  ASSERT_FALSE(authorize(pat->token, room.id).ok());  // refused: already connected
  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->admit(room.id, Caller::ofParticipant(doc->token, "192.0.2.4:1"),
                            std::move(done));
              }).ok());
  ASSERT_TRUE(leave(s->id).ok());
  ASSERT_TRUE(await<Room>([&](auto done) { svc_->cancelRoom(room.id, std::move(done)); }).ok());

  std::vector<std::string> got;
  for (const auto& r : records(room.id)) {
    got.push_back(std::string(toString(r.event)) + (r.reason.empty() ? "" : "/" + r.reason));
  }
  EXPECT_EQ(got, (std::vector<std::string>{
                     "room_created", "invite_issued", "invite_issued",
                     "join_refused/role_not_allowed_in_mode", "room_edited", "participant_joined",
                     "join_refused/already_connected", "consultation_started",
                     "participant_left/hangup", "room_cancelled", "invite_revoked/cancelled",
                     "invite_revoked/cancelled", "consultation_ended/cancelled"}));
  // No names or titles anywhere in the log: no patient data accumulates there.
  const std::string raw = test::readFile(log_->dir() / listLogFiles(log_->dir()).back());
  EXPECT_EQ(raw.find("Dr. Sato"), std::string::npos);
  EXPECT_EQ(raw.find("second visit"), std::string::npos);
  EXPECT_EQ(raw.find("mri_"), std::string::npos);  // nor tokens
  EXPECT_TRUE(verify().ok()) << verify().summary();
  EXPECT_EQ(svc_->counters().changed("invite_issued"), 2u);
  EXPECT_EQ(svc_->counters().refused("nurse", "role_not_allowed_in_mode"), 1u);
}

TEST_F(ConsultationServiceTest, RestartKeepsRoomsAndInvitesAndEndsLiveSessions) {
  Room room = createRoom(RoomMode::kD2P);
  const auto doc = token(room, Role::kDoctor, "doc-1");
  const auto pat = token(room, Role::kPatient, "pat-1");
  auto sd = join(doc, room.id);
  auto sp = join(pat, room.id, SessionKind::kPublish, "198.51.100.3:4444");
  ASSERT_TRUE(sd.ok() && sp.ok());
  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->admit(room.id, Caller::ofBackend(), std::move(done));
              }).ok());
  closeAll();
  openAll();

  auto detail = svc_->getRoom(room.id);
  ASSERT_TRUE(detail.ok());
  EXPECT_EQ(detail->room.state, RoomState::kInConsultation);
  EXPECT_EQ(detail->room.doctor_display_name, "Dr. Sato");
  EXPECT_TRUE(detail->sessions.empty());
  auto invites = svc_->listInvites(room.id);
  ASSERT_TRUE(invites.ok());
  EXPECT_EQ(invites->size(), 2u);
  auto restart_ends = recordsOf(AccessEvent::kParticipantLeft, room.id);
  ASSERT_EQ(restart_ends.size(), 2u);
  for (const auto& r : restart_ends) EXPECT_EQ(r.reason, "server-restart");
  EXPECT_EQ(restart_ends[1].session, sp->id);
  EXPECT_EQ(restart_ends[1].remote, "198.51.100.3:4444");
  auto report = verify();
  EXPECT_TRUE(report.ok()) << report.summary();
  // Tokens still work (only their hashes were stored), and the doctor may rejoin.
  EXPECT_TRUE(join(doc, room.id).ok());
  EXPECT_TRUE(join(pat, room.id).ok());
  // A second restart has nothing from the first to end again.
  closeAll();
  openAll();
  EXPECT_EQ(recordsOf(AccessEvent::kParticipantLeft, room.id).size(), 4u);
}

TEST_F(ConsultationServiceTest, RoomsWhoseWindowClosedDuringDowntimeEndAtStart) {
  Room room = createRoom(RoomMode::kD2P);
  ASSERT_TRUE(join(token(room, Role::kPatient, "pat-1"), room.id).ok());
  closeAll();
  clock_.set(room.closes_at_us + kHourUs);
  openAll();
  auto detail = svc_->getRoom(room.id);
  EXPECT_EQ(detail->room.state, RoomState::kEnded);
  EXPECT_EQ(detail->room.end_reason, "window-closed");
  EXPECT_EQ(recordsOf(AccessEvent::kParticipantLeft, room.id).at(0).reason, "server-restart");
}

TEST_F(ConsultationServiceTest, EditsChangeTitleAndDoctorButNeverTheStart) {
  Room room = createRoom(RoomMode::kD2P, clock_.nowUs() + kHourUs);
  auto patch = parsePatchRoom(nlohmann::json{{"scheduled_start", "2026-11-22T10:00:00Z"}});
  ASSERT_FALSE(patch.ok());
  EXPECT_EQ(patch.error().code, "start_time_immutable");
  EXPECT_EQ(policyStatus(patch.error().code), 422);
  EXPECT_EQ(errorField(patch.error()), "scheduled_start");
  auto logged = await<void>([&](auto done) {
    svc_->recordRefusal(room.id, "patch_room", patch.error(), std::move(done));
  });
  ASSERT_FALSE(logged.ok());
  EXPECT_EQ(logged.error().code, "start_time_immutable");

  auto ok = parsePatchRoom(nlohmann::json{{"title", "T2"}, {"doctor_display_name", "Dr. Ito"}});
  ASSERT_TRUE(ok.ok());
  auto edited = await<Room>([&](auto done) { svc_->patchRoom(room.id, *ok, std::move(done)); });
  ASSERT_TRUE(edited.ok());
  EXPECT_EQ(edited->title, "T2");
  EXPECT_EQ(edited->scheduled_start_us, room.scheduled_start_us);
  auto refused = recordsOf(AccessEvent::kJoinRefused, room.id);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].reason, "start_time_immutable");
  EXPECT_EQ(recordsOf(AccessEvent::kRoomEdited, room.id).at(0).detail["fields"].size(), 2u);

  // The participant view: the doctor's name and the institution for everyone; title and
  // external reference never for the patient side.
  const auto pat = token(room, Role::kPatient, "pat-1");
  const auto doc = token(room, Role::kDoctor, "doc-1");
  auto pinfo = svc_->participantInfo(pat, room.id, "192.0.2.1:1");
  ASSERT_TRUE(pinfo.ok());
  const auto pj = toJson(*pinfo);
  EXPECT_EQ(pj["doctor_display_name"], "Dr. Ito");
  EXPECT_EQ(pj["institution_contact"], "+81-3-0000-0000");
  EXPECT_EQ(pj["role"], "patient");
  EXPECT_EQ(pj["state"], "open");
  EXPECT_EQ(pj.dump().find("T2"), std::string::npos);
  EXPECT_EQ(pj.dump().find("ext-42"), std::string::npos);
  EXPECT_EQ(pj.dump().find("doc-1"), std::string::npos);  // no other participant's subject
  EXPECT_EQ(pj.dump().find("pat-1"), std::string::npos);  // not even one's own
  auto dinfo = svc_->participantInfo(doc, room.id, "192.0.2.1:1");
  ASSERT_TRUE(dinfo.ok());
  EXPECT_EQ(toJson(*dinfo)["title"], "T2");

  Room other = createRoom(RoomMode::kD2P);
  EXPECT_EQ(svc_->participantInfo(pat, other.id, "192.0.2.1:1").error().code, "wrong_room");
  EXPECT_EQ(svc_->participantInfo("nope", room.id, "192.0.2.1:1").error().code, "invalid_token");
  spin(30);
  EXPECT_EQ(recordsOf(AccessEvent::kApiAuthFailed).size(), 2u);
}

TEST_F(ConsultationServiceTest, SessionEndsAreValidatedAndIdempotent) {
  Room room = createRoom(RoomMode::kD2P);
  auto s = join(token(room, Role::kPatient, "pat-1"), room.id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(leave(s->id, "because").error().code, "invalid_field");
  EXPECT_TRUE(leave(s->id, "consent-timeout").ok());
  EXPECT_TRUE(leave(s->id, "hangup").ok());  // already gone: no second record
  auto left = recordsOf(AccessEvent::kParticipantLeft, room.id);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].reason, "consent-timeout");
  EXPECT_EQ(svc_->markStale("ses_unknown").error().code, "session_not_found");
}

TEST_F(ConsultationServiceTest, ShutdownEndsEverySession) {
  Room a = createRoom(RoomMode::kD2P);
  Room b = createRoom(RoomMode::kD2P);
  ASSERT_TRUE(join(token(a, Role::kPatient, "p-a"), a.id).ok());
  ASSERT_TRUE(join(token(b, Role::kPatient, "p-b"), b.id).ok());
  ASSERT_TRUE(await<void>([&](auto done) {
                svc_->endAllSessions("server-shutdown", std::move(done));
              }).ok());
  EXPECT_EQ(terminator_.ended.size(), 2u);
  auto left = recordsOf(AccessEvent::kParticipantLeft);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[1].reason, "server-shutdown");
}

// With a failing disk: no join while the access log cannot record it, and a created room that
// could not be logged does not stay behind.
class UnhealthyLogTest : public testutil::ConsultationFixture {
 protected:
  void SetUp() override {
    faulty_ = std::make_shared<testutil::FaultyFiles>();
    files_ = faulty_;
    openAll();
  }
  std::shared_ptr<testutil::FaultyFiles> faulty_;
};

TEST_F(UnhealthyLogTest, JoinsAreRefusedWhileTheAccessLogCannotWrite) {
  Room room = createRoom(RoomMode::kD2P);
  const auto pat = token(room, Role::kPatient, "pat-1");
  faulty_->write_errno = ENOSPC;
  CreateRoomRequest req;
  req.mode = RoomMode::kD2P;
  req.institution_id = "clinic-1";
  req.institution_contact = "x";
  req.doctor_display_name = "Dr. X";
  auto failed = await<Room>([&](auto done) { svc_->createRoom(req, std::move(done)); });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "access_log_unavailable");
  auto page = svc_->listRooms(RoomFilter{});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->rooms.size(), 1u);  // the unlogged room was removed again
  ASSERT_TRUE(log_->unhealthy());
  auto join_refused = authorize(pat, room.id);
  ASSERT_FALSE(join_refused.ok());
  EXPECT_EQ(join_refused.error().code, "access_log_unavailable");
  EXPECT_EQ(policyStatus("access_log_unavailable"), 503);

  faulty_->write_errno = 0;
  for (int i = 0; i < 200 && log_->unhealthy(); ++i) spin(10);
  ASSERT_FALSE(log_->unhealthy());
  EXPECT_TRUE(join(pat, room.id).ok());
}

// The log fails between the grant and sessionStarted: the join is refused and leaves no live
// session behind, so the same invite joins again once the log recovers.
TEST_F(UnhealthyLogTest, AnUnloggedJoinLeavesNoSessionBehind) {
  Room room = createRoom(RoomMode::kD2P);
  const auto pat = token(room, Role::kPatient, "pat-1");
  auto grant = authorize(pat, room.id);
  ASSERT_TRUE(grant.ok()) << grant.error().code;
  faulty_->write_errno = ENOSPC;
  auto started = await<Session>([&](auto done) { svc_->sessionStarted(*grant, std::move(done)); });
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, "access_log_unavailable");
  auto detail = svc_->getRoom(room.id);
  ASSERT_TRUE(detail.ok());
  EXPECT_TRUE(detail->sessions.empty());

  faulty_->write_errno = 0;
  for (int i = 0; i < 200 && log_->unhealthy(); ++i) spin(10);
  ASSERT_FALSE(log_->unhealthy());
  auto again = join(pat, room.id);
  ASSERT_TRUE(again.ok()) << again.error().code;  // not already_connected
  EXPECT_EQ(recordsOf(AccessEvent::kParticipantJoined, room.id).size(), 1u);
}

}  // namespace
}  // namespace medrelay::control

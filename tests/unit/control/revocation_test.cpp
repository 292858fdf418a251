// Revocation reaches every channel (docs/policy.md rule 7): a participant's event subscription
// ends with its last event and hears nothing published after it; TURN's view of dead invites
// (DeadInvites) follows revoke, cancel and end, and is loaded again from the store at start.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "control/dead_invites.h"
#include "tests/unit/control/consultation_test_fixture.h"

namespace medrelay::control {
namespace {

class RevocationTest : public testutil::ConsultationFixture {
 protected:
  struct Stream {
    std::vector<std::string> types;
    std::vector<nlohmann::json> events;
    bool ended = false;
  };
  // A subscription as the REST layer makes it: events appended, on_end recorded.
  uint64_t subscribe(RoomEventBus& bus, const std::string& room, Audience audience,
                     const std::string& invite_id, Stream& out) {
    return bus.subscribe(
        room, audience,
        [&out](const nlohmann::json& e) {
          EXPECT_FALSE(out.ended) << "event after the last one: " << e.dump();
          out.types.push_back(e["type"]);
          out.events.push_back(e);
        },
        invite_id, [&out] { out.ended = true; });
  }
  RoomEvent event(RoomEventType type, const std::string& room, const std::string& invite = {},
                  const std::string& reason = {}) {
    return RoomEvent{type,      room,    invite, Role::kPatient,
                     "subject", "ses_1", reason, clock_.nowUs()};
  }
};

TEST_F(RevocationTest, RevokedEndsOnlyThatInvitesStreamsAndNothingLaterReachesThem) {
  RoomEventBus bus(dispatcher_);
  Stream revoked, other, backend;
  subscribe(bus, "rm_a", Audience::kParticipant, "inv_p", revoked);
  subscribe(bus, "rm_a", Audience::kParticipant, "inv_d", other);
  subscribe(bus, "rm_a", Audience::kBackend, "", backend);
  bus.publish(event(RoomEventType::kJoined, "rm_a", "inv_d"));
  bus.publish(event(RoomEventType::kRevoked, "rm_a", "inv_p", "revoked"));
  // Published after the revoke, before any drain ran: queued for the others only.
  bus.publish(event(RoomEventType::kJoined, "rm_a", "inv_new"));
  EXPECT_EQ(bus.subscribers("rm_a"), 2u);
  spin(10);
  EXPECT_EQ(revoked.types, (std::vector<std::string>{"joined", "revoked"}));
  EXPECT_TRUE(revoked.ended);
  EXPECT_EQ(revoked.events.back()["reason"], "revoked");
  EXPECT_EQ(revoked.events.back()["invite_id"], "inv_p");
  EXPECT_FALSE(revoked.events.back().contains("subject"));
  EXPECT_EQ(other.types, (std::vector<std::string>{"joined", "joined"}));
  EXPECT_FALSE(other.ended);
  // The backend asked for the revocation: it never gets `revoked` and is never ended by it.
  EXPECT_EQ(backend.types, (std::vector<std::string>{"joined", "joined"}));
  EXPECT_FALSE(backend.ended);
  bus.publish(event(RoomEventType::kAdmitted, "rm_a"));
  spin(10);
  EXPECT_EQ(revoked.types.size(), 2u);
  EXPECT_EQ(other.types.back(), "admitted");
}

TEST_F(RevocationTest, CancelAndEndAreTheLastEventOfEveryParticipantStream) {
  RoomEventBus bus(dispatcher_);
  Stream p1, p2, backend, elsewhere;
  subscribe(bus, "rm_a", Audience::kParticipant, "inv_1", p1);
  subscribe(bus, "rm_b", Audience::kParticipant, "inv_2", p2);
  subscribe(bus, "rm_a", Audience::kBackend, "", backend);
  subscribe(bus, "rm_c", Audience::kParticipant, "inv_3", elsewhere);
  bus.publish(event(RoomEventType::kCancelled, "rm_a", {}, "cancelled"));
  bus.publish(event(RoomEventType::kEnded, "rm_b", {}, "window-closed"));
  bus.publish(event(RoomEventType::kLeft, "rm_a", "inv_x", "cancelled"));
  spin(10);
  EXPECT_EQ(p1.types, (std::vector<std::string>{"cancelled"}));
  EXPECT_TRUE(p1.ended);
  EXPECT_EQ(p2.types, (std::vector<std::string>{"ended"}));
  EXPECT_TRUE(p2.ended);
  EXPECT_EQ(backend.types, (std::vector<std::string>{"cancelled", "left"}));
  EXPECT_FALSE(backend.ended);
  EXPECT_TRUE(elsewhere.types.empty());
  EXPECT_FALSE(elsewhere.ended);
  EXPECT_EQ(bus.subscribers("rm_a"), 1u);
  EXPECT_EQ(bus.subscribers("rm_b"), 0u);
}

TEST_F(RevocationTest, AStreamClosedBeforeItsLastEventIsDeliveredIsNotEndedTwice) {
  RoomEventBus bus(dispatcher_);
  Stream s;
  const auto id = subscribe(bus, "rm_a", Audience::kParticipant, "inv_p", s);
  bus.publish(event(RoomEventType::kRevoked, "rm_a", "inv_p", "revoked"));
  bus.unsubscribe(id);  // the client went away first
  spin(10);
  EXPECT_TRUE(s.types.empty());
  EXPECT_FALSE(s.ended);
  EXPECT_EQ(bus.subscribers("rm_a"), 0u);
}

TEST_F(RevocationTest, ServiceEndsTheRevokedStreamBeforeItsOwnLeft) {
  Room room = createRoom(RoomMode::kD2P);
  auto doc = invite(room, Role::kDoctor, "dr-1");
  auto pat = invite(room, Role::kPatient, "pt-1");
  ASSERT_TRUE(doc.ok() && pat.ok());
  Stream patient, doctor;
  subscribe(svc_->events(), room.id, Audience::kParticipant, pat->invite.id, patient);
  subscribe(svc_->events(), room.id, Audience::kParticipant, doc->invite.id, doctor);
  ASSERT_TRUE(join(pat->token, room.id).ok());
  spin(10);
  ASSERT_TRUE(await<Invite>([&](auto done) {
                svc_->revokeInvite(room.id, pat->invite.id, std::move(done));
              }).ok());
  auto again = invite(room, Role::kPatient, "pt-2");  // the seat is free again
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(join(again->token, room.id).ok());
  ASSERT_TRUE(join(doc->token, room.id).ok());
  spin(10);
  EXPECT_EQ(patient.types, (std::vector<std::string>{"joined", "published", "revoked"}));
  EXPECT_TRUE(patient.ended);
  EXPECT_EQ(doctor.types, (std::vector<std::string>{"joined", "published", "left", "joined",
                                                    "published", "joined", "published"}));
  EXPECT_FALSE(doctor.ended);
  for (const auto& e : patient.events) {
    EXPECT_NE(e.value("invite_id", ""), again->invite.id) << e.dump();
  }
}

TEST_F(RevocationTest, DeadInvitesFollowRevokeCancelAndEnd) {
  Room a = createRoom(RoomMode::kD2P);
  Room b = createRoom(RoomMode::kD2P);
  Room c = createRoom(RoomMode::kD2P);
  auto revoked = invite(a, Role::kPatient, "pt-a");
  auto kept = invite(a, Role::kDoctor, "dr-a");
  auto cancelled = invite(b, Role::kPatient, "pt-b");
  auto ended = invite(c, Role::kPatient, "pt-c");
  ASSERT_TRUE(revoked.ok() && kept.ok() && cancelled.ok() && ended.ok());
  std::vector<std::string> hooked;
  svc_->setInviteRevokedHook([&](const std::string& id) { hooked.push_back(id); });
  auto& live = svc_->inviteLiveness();
  for (const auto* i : {&revoked, &kept, &cancelled, &ended}) {
    EXPECT_TRUE(live.isLive((*i)->invite.id));
  }
  ASSERT_TRUE(await<Invite>([&](auto done) {
                svc_->revokeInvite(a.id, revoked->invite.id, std::move(done));
              }).ok());
  ASSERT_TRUE(await<Room>([&](auto done) { svc_->cancelRoom(b.id, std::move(done)); }).ok());
  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->admit(c.id, Caller::ofBackend(), std::move(done));
              }).ok());
  ASSERT_TRUE(await<Room>([&](auto done) {
                svc_->endConsultation(c.id, Caller::ofBackend(), std::move(done));
              }).ok());
  EXPECT_FALSE(live.isLive(revoked->invite.id));
  EXPECT_FALSE(live.isLive(cancelled->invite.id));
  EXPECT_FALSE(live.isLive(ended->invite.id));
  EXPECT_TRUE(live.isLive(kept->invite.id));
  EXPECT_EQ(hooked,
            (std::vector<std::string>{revoked->invite.id, cancelled->invite.id, ended->invite.id}));

  // A restart over the same store: the view is loaded again, not rebuilt from the hook.
  closeAll();
  openAll();
  auto& reloaded = svc_->inviteLiveness();
  EXPECT_FALSE(reloaded.isLive(revoked->invite.id));
  EXPECT_FALSE(reloaded.isLive(cancelled->invite.id));
  EXPECT_FALSE(reloaded.isLive(ended->invite.id));
  EXPECT_TRUE(reloaded.isLive(kept->invite.id));
}

TEST_F(RevocationTest, StoreListsDeadInvitesUntilTheyExpire) {
  Room a = createRoom(RoomMode::kD2P);
  auto revoked = invite(a, Role::kPatient, "pt-a");
  auto kept = invite(a, Role::kDoctor, "dr-a");
  ASSERT_TRUE(revoked.ok() && kept.ok());
  ASSERT_TRUE(await<Invite>([&](auto done) {
                svc_->revokeInvite(a.id, revoked->invite.id, std::move(done));
              }).ok());
  auto dead = store_->deadInvites(clock_.nowUs());
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->at(0).id, revoked->invite.id);
  // Past its expiry (the window's end) the credentials refuse themselves: no entry needed.
  auto later = store_->deadInvites(revoked->invite.expires_us);
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->empty());
}

TEST(DeadInvitesTest, ExpiredEntriesArePrunedAndReadersRunBesideTheWriter) {
  DeadInvites dead;
  dead.add("inv_old", 100, 50);
  dead.add("inv_gone", 10, 50);  // already expired: never added
  EXPECT_FALSE(dead.isLive("inv_old"));
  EXPECT_TRUE(dead.isLive("inv_gone"));
  EXPECT_EQ(dead.size(), 1u);
  // Enough adds after inv_old expired trigger a sweep that drops it.
  std::thread reader([&dead] {
    for (int i = 0; i < 20000; ++i) {
      ASSERT_TRUE(dead.isLive("inv_never"));
    }
  });
  for (int i = 0; i < 3000; ++i) dead.add("inv_" + std::to_string(i), 10'000, 200);
  reader.join();
  EXPECT_TRUE(dead.isLive("inv_old"));
  EXPECT_FALSE(dead.isLive("inv_2999"));
  EXPECT_EQ(dead.size(), 3000u);
}

}  // namespace
}  // namespace medrelay::control

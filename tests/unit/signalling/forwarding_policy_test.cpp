// The waiting room as data: which participant's media the room's worker may forward to whom.
#include "signalling/forwarding_policy.h"

#include <gtest/gtest.h>

namespace medrelay::signalling {
namespace {

using control::Role;

control::Room liveRoom(bool admitted) {
  control::Room room;
  room.id = "room-1";
  room.state = admitted ? control::RoomState::kInConsultation : control::RoomState::kScheduled;
  room.admitted_us = admitted ? 1 : 0;
  return room;
}

const RoomParticipants kParticipants = {
    {"inv-doctor", Role::kDoctor}, {"inv-patient", Role::kPatient}, {"inv-nurse", Role::kNurse}};

TEST(ForwardingRules, BeforeAdmissionOnlyTheDoctorReceives) {
  auto rules = forwardingRules(liveRoom(false), kParticipants);
  EXPECT_TRUE(rules.allows("inv-doctor", "inv-patient"));
  EXPECT_TRUE(rules.allows("inv-doctor", "inv-nurse"));
  EXPECT_FALSE(rules.allows("inv-patient", "inv-doctor"));
  EXPECT_FALSE(rules.allows("inv-nurse", "inv-patient"));
  EXPECT_FALSE(rules.allows("inv-patient", "inv-nurse"));
  EXPECT_EQ(rules.size(), 2u);
}

TEST(ForwardingRules, AfterAdmissionEveryoneReceivesEveryoneElse) {
  auto rules = forwardingRules(liveRoom(true), kParticipants);
  EXPECT_TRUE(rules.allows("inv-patient", "inv-doctor"));
  EXPECT_TRUE(rules.allows("inv-nurse", "inv-patient"));
  EXPECT_TRUE(rules.allows("inv-doctor", "inv-nurse"));
  EXPECT_FALSE(rules.allows("inv-doctor", "inv-doctor"));  // never one's own media
  EXPECT_EQ(rules.size(), 6u);
}

TEST(ForwardingRules, NothingFlowsInARoomThatIsNotLive) {
  control::Room ended = liveRoom(true);
  ended.state = control::RoomState::kEnded;
  EXPECT_EQ(forwardingRules(ended, kParticipants).size(), 0u);
}

TEST(ForwardingRules, UnknownInvitesAreNotAllowed) {
  auto rules = forwardingRules(liveRoom(true), kParticipants);
  EXPECT_FALSE(rules.allows("inv-stranger", "inv-doctor"));
  EXPECT_FALSE(rules.allows("inv-patient", "inv-stranger"));
}

}  // namespace
}  // namespace medrelay::signalling

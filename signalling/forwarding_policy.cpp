#include "signalling/forwarding_policy.h"

#include "control/policy.h"

namespace medrelay::signalling {
namespace {

control::Invite inviteOf(const control::Room& room, const std::string& id, control::Role role) {
  control::Invite invite;
  invite.id = id;
  invite.room_id = room.id;
  invite.role = role;  // live: a revoked invite's sessions are ended by the control plane
  return invite;
}

}  // namespace

media::ForwardingRules forwardingRules(const control::Room& room,
                                       const RoomParticipants& participants) {
  media::ForwardingRules rules;
  for (const auto& [subscriberId, subscriberRole] : participants) {
    const control::Invite subscriber = inviteOf(room, subscriberId, subscriberRole);
    for (const auto& [publisherId, publisherRole] : participants) {
      if (control::canReceive(room, subscriber, inviteOf(room, publisherId, publisherRole))) {
        rules.allow(subscriberId, publisherId);
      }
    }
  }
  return rules;
}

}  // namespace medrelay::signalling

#pragma once
// The waiting room as data for the media plane: control::canReceive (docs/policy.md rule 6)
// evaluated for every ordered pair of a room's participants, as the media::ForwardingRules the
// room's worker applies. Recomputed on the control thread whenever an input changes (a
// participant is authorized, the patient is admitted) and posted whole.
#include <map>
#include <string>

#include "control/consultation.h"
#include "media/forwarding_rules.h"

namespace medrelay::signalling {

// invite id → role, for everyone authorized to join the room.
using RoomParticipants = std::map<std::string, control::Role>;

media::ForwardingRules forwardingRules(const control::Room& room,
                                       const RoomParticipants& participants);

}  // namespace medrelay::signalling

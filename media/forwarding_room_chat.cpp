// ForwardingRoom's chat: the same ForwardingRules as media (docs/policy.md rule 6), so in the
// waiting room the patient's messages reach only the doctor and the patient receives none.
#include "media/chat_envelope.h"
#include "media/forwarding_room.h"

namespace medrelay::media {

void ForwardingRoom::onChatMessage(ParticipantSession& from, std::string_view message) {
  std::string& out = ctx_.chatScratch;
  if (!chat::rewrite(message, from.spec().role, out)) {
    from.refuseData(metrics::DataChannelRefusal::kBadEnvelope, "bad_envelope");
    return;
  }
  for (ParticipantSession* to : sessions_) {
    if (to == &from || to->ended() || !to->chatStream()) continue;
    if (!rules_.allows(to->spec().inviteId, from.spec().inviteId)) continue;
    (void)to->sendChat(out);
  }
}

}  // namespace medrelay::media

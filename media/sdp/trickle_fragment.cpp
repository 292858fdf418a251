#include "media/sdp/trickle_fragment.h"

#include "media/sdp/sdp_errors.h"

namespace medrelay::media::sdp {

bool TrickleFragment::isIceRestart(std::string_view currentUfrag,
                                   std::string_view currentPwd) const {
  if (iceUfrag.empty() && icePwd.empty()) return false;
  return iceUfrag != currentUfrag || icePwd != currentPwd;
}

Result<TrickleFragment> parseTrickleFragment(std::string_view body, const ParseLimits& limits) {
  auto parsed = parseSdp(body, limits, ParseMode::kFragment);
  if (!parsed) return parsed.error();
  const SessionDescription& d = parsed.value();
  TrickleFragment f;
  f.iceUfrag = d.iceUfrag;
  f.icePwd = d.icePwd;
  f.iceOptions = d.iceOptions;
  for (const auto& m : d.media) {
    if (f.iceUfrag.empty() && !m.iceUfrag.empty()) f.iceUfrag = m.iceUfrag;
    if (f.icePwd.empty() && !m.icePwd.empty()) f.icePwd = m.icePwd;
    f.sections.push_back(TrickleFragment::Section{m.mid, m.candidates, m.endOfCandidates});
    f.endOfCandidates = f.endOfCandidates || m.endOfCandidates;
  }
  f.endOfCandidates = f.endOfCandidates || d.sessionEndOfCandidates;
  // RFC 8839 §4.4.1.1.1: ufrag and pwd change together.
  if (f.iceUfrag.empty() != f.icePwd.empty()) {
    return makeError(kErrorInvalidOffer, "sdpfrag has only one of a=ice-ufrag and a=ice-pwd");
  }
  return f;
}

}  // namespace medrelay::media::sdp

#pragma once

// application/trickle-ice-sdpfrag bodies (RFC 8840 §5.1) sent in WHIP/WHEP PATCH requests
// (RFC 9725 §4.3): ICE credentials, candidates per m= section, end-of-candidates.

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "media/sdp/sdp_parser.h"
#include "media/sdp/session_description.h"

namespace medrelay::media::sdp {

struct TrickleFragment {
  struct Section {
    std::string mid;
    std::vector<Candidate> candidates;  // mDNS ones included, flagged Candidate::mdns
    bool endOfCandidates = false;
  };
  std::string iceUfrag;  // session-level, else from the first m= section that has one
  std::string icePwd;
  std::vector<std::string> iceOptions;
  std::vector<Section> sections;
  bool endOfCandidates = false;  // at session level or in any section

  // RFC 8839 §4.4.1.1.1: new ufrag/pwd means an ICE restart. A fragment without credentials
  // (allowed for plain trickle) is not a restart.
  bool isIceRestart(std::string_view currentUfrag, std::string_view currentPwd) const;
};

Result<TrickleFragment> parseTrickleFragment(std::string_view body, const ParseLimits& limits = {});

}  // namespace medrelay::media::sdp

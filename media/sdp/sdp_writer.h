#pragma once

// Serialises a SessionDescription as SDP text with CRLF line ends (RFC 8866 §5), attributes in
// JSEP order (RFC 8829 §5.2/§5.3): session part, then per m= section transport, direction, codecs,
// extensions, sources, candidates.

#include <string>

#include "media/sdp/session_description.h"

namespace medrelay::media::sdp {

std::string writeSdp(const SessionDescription& desc);
std::string writeCandidate(const Candidate& c);  // the value after "a=candidate:"

}  // namespace medrelay::media::sdp

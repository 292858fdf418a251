#pragma once

// A tolerant SDP parser (RFC 8866 syntax): unknown lines and attributes are skipped, LF or CRLF
// line ends are accepted, malformed values of the attributes we use are errors naming the line.

#include <cstddef>
#include <string_view>

#include "common/result.h"
#include "media/sdp/session_description.h"

namespace medrelay::media::sdp {

struct ParseLimits {
  size_t maxBytes = 256 * 1024;
  size_t maxLines = 8192;
  size_t maxLineLength = 4096;
  size_t maxMediaSections = 64;
};

enum class ParseMode {
  kSessionDescription,  // a full description: must start with v=0 and carry o=
  kFragment,            // RFC 8840 sdpfrag: no v=/o=/s=/t=, session part then m= sections
};

Result<SessionDescription> parseSdp(std::string_view text, const ParseLimits& limits = {},
                                    ParseMode mode = ParseMode::kSessionDescription);

}  // namespace medrelay::media::sdp

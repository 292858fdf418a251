#pragma once

// Codec, RTCP feedback and header-extension choice for one offered m= section.

#include <optional>
#include <string>
#include <vector>

#include "media/sdp/negotiator.h"

namespace medrelay::media::sdp {

struct CodecChoice {
  Codec codec = Codec::kNone;
  const RtpMap* rtpMap = nullptr;
  std::optional<int> rtxPayloadType;
  std::string fmtp;  // for the answer
};

// The first supported codec in the server's preference order, keeping the offerer's PT
// (RFC 3264 §6.1). nullopt when nothing matches.
std::optional<CodecChoice> chooseCodec(const MediaSection& m, MediaKind kind,
                                       const Capabilities& caps);

// The offered rtcp-fb lines for pt (or '*') that we support.
RtcpFeedback chooseFeedback(const MediaSection& m, int pt, const Capabilities& caps);

// Whether we support the header extension uri in an m= section of this kind.
bool supportedExtension(const std::string& uri, MediaKind kind, const Capabilities& caps);

// Stores id in the field of ids that uri names (no-op for other URIs).
void recordExtension(HeaderExtensionIds& ids, const std::string& uri, uint8_t id);

// Lists the codecs an m= section offers, "VP8/90000 H264/90000", for error messages.
std::string describeOfferedCodecs(const MediaSection& m);

}  // namespace medrelay::media::sdp

#pragma once

// Stable error codes of the SDP layer (Error::code). The HTTP layer maps them to statuses.
namespace medrelay::media::sdp {

// Not SDP at all or a malformed line (message carries the line number): 400.
inline constexpr const char* kErrorSyntax = "sdp_syntax";
// Over the input, line count or line length limits: 413 (or 400).
inline constexpr const char* kErrorTooLarge = "sdp_too_large";
// Well-formed SDP that breaks WebRTC rules we require (no fingerprint, no ICE credentials, no
// rtcp-mux, DTLS holdconn, ...): 400.
inline constexpr const char* kErrorInvalidOffer = "sdp_invalid_offer";
// Nothing in the offer that this server can accept (codecs, protocols): 406 / 422.
inline constexpr const char* kErrorUnsupported = "sdp_unsupported";
// Data-channel-only offer while data channels are disabled: 422.
inline constexpr const char* kErrorDataChannelDisabled = "sdp_datachannel_disabled";

}  // namespace medrelay::media::sdp

#pragma once

// SASLprep (RFC 4013, a StringPrep profile, RFC 3454) for STUN long-term credentials
// (RFC 8489 §9.2.2; RFC 5769 §2.4 exercises it).
//
// Implemented: §2.1 mapping (non-ASCII spaces C.1.2 -> U+0020, B.1 "mapped to nothing" removed),
// §2.3 prohibited output (C.2.1-C.9), UTF-8 validity. §2.2 NFKC is a subset: the compatibility
// decompositions likely in passwords (Latin-1 ordinals/superscripts/fractions, Roman numerals
// U+2160-217F, fullwidth ASCII U+FF01-FF5E, Latin ligatures U+FB00-FB06, sub/superscript digits,
// a few letterlike symbols) are mapped; canonical composition of decomposed sequences and the
// rest of the Unicode compatibility table are not (that needs the full UCD, e.g. ICU, which this
// project does not link). Bidi (§2.4/RFC 3454 §6) and unassigned-code-point checks are skipped.
// TURN REST credentials (base64) and ICE passwords are ASCII and pass through unchanged.

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace medrelay::net::stun {

// Writes the prepared UTF-8 string into out. nullopt on invalid UTF-8, a prohibited character
// or when out is too small. No allocation.
std::optional<size_t> saslPrep(std::string_view in, std::span<char> out);

}  // namespace medrelay::net::stun

#include "net/stun/sasl_prep.h"

#include <cstdint>
#include <cstring>

namespace medrelay::net::stun {

namespace {

// Decodes one UTF-8 code point (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
std::optional<char32_t> decodeUtf8(std::string_view s, size_t& i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  size_t n = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    n = 1;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 2;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 3;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (s.size() - i <= n) return std::nullopt;
  for (size_t k = 1; k <= n; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += n + 1;
  return cp;
}

size_t encodeUtf8(char32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// RFC 3454 B.1.
bool mappedToNothing(char32_t c) {
  return c == 0x00AD || c == 0x034F || c == 0x1806 || (c >= 0x180B && c <= 0x180D) ||
         (c >= 0x200B && c <= 0x200D) || c == 0x2060 || (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF;
}

// RFC 3454 C.1.2.
bool nonAsciiSpace(char32_t c) {
  return c == 0x00A0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200B) || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// RFC 4013 §2.3: C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
bool prohibited(char32_t c) {
  if (c < 0x20 || c == 0x7F) return true;  // C.2.1
  if ((c >= 0x80 && c <= 0x9F) || c == 0x06DD || c == 0x070F || c == 0x180E || c == 0x200C ||
      c == 0x200D || c == 0x2028 || c == 0x2029 || (c >= 0x2060 && c <= 0x2063) ||
      (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) ||
      (c >= 0x1D173 && c <= 0x1D17A)) {
    return true;  // C.2.2
  }
  if ((c >= 0xE000 && c <= 0xF8FF) || c >= 0xF0000) return true;            // C.3
  if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE) return true;  // C.4
  if (c >= 0xFFF9 && c <= 0xFFFD) return true;                              // C.6
  if (c >= 0x2FF0 && c <= 0x2FFB) return true;                              // C.7
  if (c == 0x0340 || c == 0x0341 || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E)) {
    return true;  // C.8
  }
  if (c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F)) return true;  // C.9
  return false;
}

struct Compat {
  char32_t cp;
  const char* to;  // UTF-8
};

// NFKC compatibility mappings for a practical subset (see the header).
constexpr Compat kCompat[] = {
    {0x00A8, " \xCC\x88"},
    {0x00AA, "a"},
    {0x00AF, " \xCC\x84"},
    {0x00B2, "2"},
    {0x00B3, "3"},
    {0x00B4, " \xCC\x81"},
    {0x00B5, "\xCE\xBC"},
    {0x00B8, " \xCC\xA7"},
    {0x00B9, "1"},
    {0x00BA, "o"},
    {0x00BC,
     "1\xE2\x81\x84"
     "4"},
    {0x00BD,
     "1\xE2\x81\x84"
     "2"},
    {0x00BE,
     "3\xE2\x81\x84"
     "4"},
    {0x0132, "IJ"},
    {0x0133, "ij"},
    {0x017F, "s"},
    {0x2024, "."},
    {0x2025, ".."},
    {0x2026, "..."},
    {0x2070, "0"},
    {0x2071, "i"},
    {0x207F, "n"},
    {0x2122, "TM"},
    {0x2126, "\xCE\xA9"},
    {0x212A, "K"},
    {0x212B, "\xC3\x85"},
    {0x2160, "I"},
    {0x2161, "II"},
    {0x2162, "III"},
    {0x2163, "IV"},
    {0x2164, "V"},
    {0x2165, "VI"},
    {0x2166, "VII"},
    {0x2167, "VIII"},
    {0x2168, "IX"},
    {0x2169, "X"},
    {0x216A, "XI"},
    {0x216B, "XII"},
    {0x216C, "L"},
    {0x216D, "C"},
    {0x216E, "D"},
    {0x216F, "M"},
    {0x2170, "i"},
    {0x2171, "ii"},
    {0x2172, "iii"},
    {0x2173, "iv"},
    {0x2174, "v"},
    {0x2175, "vi"},
    {0x2176, "vii"},
    {0x2177, "viii"},
    {0x2178, "ix"},
    {0x2179, "x"},
    {0x217A, "xi"},
    {0x217B, "xii"},
    {0x217C, "l"},
    {0x217D, "c"},
    {0x217E, "d"},
    {0x217F, "m"},
    {0xFB00, "ff"},
    {0xFB01, "fi"},
    {0xFB02, "fl"},
    {0xFB03, "ffi"},
    {0xFB04, "ffl"},
    {0xFB05, "st"},
    {0xFB06, "st"},
};

const char* compat(char32_t c, char digit[2]) {
  if (c >= 0xFF01 && c <= 0xFF5E) {  // fullwidth ASCII
    digit[0] = static_cast<char>(c - 0xFEE0);
    return digit;
  }
  if ((c >= 0x2074 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089)) {  // super/subscript digits
    digit[0] = static_cast<char>('0' + (c >= 0x2080 ? c - 0x2080 : c - 0x2070));
    return digit;
  }
  for (const Compat& m : kCompat) {
    if (m.cp == c) return m.to;
  }
  return nullptr;
}

}  // namespace

std::optional<size_t> saslPrep(std::string_view in, std::span<char> out) {
  size_t n = 0;
  size_t i = 0;
  while (i < in.size()) {
    const auto cp = decodeUtf8(in, i);
    if (!cp) return std::nullopt;
    char32_t c = *cp;
    if (mappedToNothing(c)) continue;
    if (nonAsciiSpace(c)) c = 0x20;
    if (prohibited(c)) return std::nullopt;
    char digit[2] = {0, 0};
    if (const char* to = compat(c, digit)) {
      const size_t len = std::strlen(to);
      if (out.size() - n < len) return std::nullopt;
      std::memcpy(out.data() + n, to, len);
      n += len;
      continue;
    }
    char buf[4];
    const size_t len = encodeUtf8(c, buf);
    if (out.size() - n < len) return std::nullopt;
    std::memcpy(out.data() + n, buf, len);
    n += len;
  }
  return n;
}

}  // namespace medrelay::net::stun

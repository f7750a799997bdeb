#pragma once

// Escaping of untrusted text (what scripts write) before it reaches a log line, a flag file or a terminal.

#include <cstddef>
#include <string>
#include <string_view>

namespace mtce {

/// The length of the well-formed UTF-8 sequence at the start of `s` (1 to 4), or 0 if it is not one:
/// truncated, overlong, a surrogate, above U+10FFFF, or a stray continuation byte.
[[nodiscard]] constexpr std::size_t utf8_sequence_length(std::string_view s) noexcept {
    if (s.empty()) {
        return 0;
    }
    const auto b0 = static_cast<unsigned char>(s[0]);
    if (b0 < 0x80U) {
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80U;  // allowed range of the second byte
    unsigned char hi = 0xBFU;
    if (b0 >= 0xC2U && b0 <= 0xDFU) {
        n = 2;
    } else if (b0 >= 0xE0U && b0 <= 0xEFU) {
        n = 3;
        lo = b0 == 0xE0U ? 0xA0U : 0x80U;  // no overlong forms
        hi = b0 == 0xEDU ? 0x9FU : 0xBFU;  // no surrogates
    } else if (b0 >= 0xF0U && b0 <= 0xF4U) {
        n = 4;
        lo = b0 == 0xF0U ? 0x90U : 0x80U;  // no overlong forms
        hi = b0 == 0xF4U ? 0x8FU : 0xBFU;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (s.size() < n) {
        return 0;
    }
    const auto b1 = static_cast<unsigned char>(s[1]);
    if (b1 < lo || b1 > hi) {
        return 0;
    }
    for (std::size_t i = 2; i < n; ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0U) != 0x80U) {
            return 0;
        }
    }
    return n;
}

/// `s` made safe to put in one log line, a flag file's line or a terminal: a backslash is doubled, LF, CR
/// and TAB become `\n`, `\r` and `\t`, every other control character (C0, DEL, and C1 such as the 8-bit CSI
/// U+009B) and every byte that is not part of well-formed UTF-8 becomes `\xNN`, one per byte. Printable
/// UTF-8 is kept as it is. So one script line cannot start a forged log line, nor move a terminal's cursor.
[[nodiscard]] std::string escape_text(std::string_view s);

/// What a program wrote, for a log line: without its final line end(s), then escape_text().
[[nodiscard]] std::string escape_output(std::string_view s);

}  // namespace mtce

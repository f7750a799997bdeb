#pragma once

// Small text helpers shared by parsers that must not pull in anything heavier.

#include <cstddef>
#include <string>

namespace mtce {

/// The value of a hexadecimal digit (either case), or -1 for any other character.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// `s` cut to at most `n` bytes without splitting a UTF-8 sequence.
[[nodiscard]] inline std::string cut_utf8(std::string s, std::size_t n) {
    if (s.size() <= n) {
        return s;
    }
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) {
        --n;
    }
    s.resize(n);
    return s;
}

}  // namespace mtce

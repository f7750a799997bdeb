#pragma once

// Small text helpers shared by parsers that must not pull in anything heavier.

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

}  // namespace mtce

#pragma once

// Small text helpers shared by parsers that must not pull in anything heavier.

#include <cstddef>
#include <string>
#include <string_view>

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

/// `c` in lower case if it is an ASCII capital letter, else `c`.
[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Whether `a` and `b` are equal, ignoring ASCII case (HTTP header names, tokens, media types).
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
}

/// `s` without leading and trailing blanks (spaces and tabs).
[[nodiscard]] constexpr std::string_view trim_blanks(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Longest host name: one DNS label's limit, which is also what the wire's sender field holds.
inline constexpr std::size_t max_hostname_length = 63;

/// Whether `name` is an RFC 1123 host name of at most max_hostname_length characters: letters, digits, '-'
/// and '.'; no empty label, and no label starts or ends with '-'. Compared byte for byte, so case matters
/// (the name is a key on the wire and in the inventory).
[[nodiscard]] constexpr bool is_valid_hostname(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_hostname_length) {
        return false;
    }
    std::size_t label = 0;
    char prev = '.';
    for (char ch : name) {
        if (ch == '.') {
            if (label == 0 || prev == '-') {
                return false;
            }
            label = 0;
        } else {
            const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                            (ch >= '0' && ch <= '9') || (ch == '-' && label != 0);
            if (!ok) {
                return false;
            }
            ++label;
        }
        prev = ch;
    }
    return label != 0 && prev != '-';
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

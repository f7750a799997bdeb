#include "core/escape.hpp"

namespace mtce {

std::string escape_text(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    auto hex = [&](unsigned char b) {
        out += "\\x";
        out += digits[b >> 4U];
        out += digits[b & 0x0FU];
    };
    while (!s.empty()) {
        const auto b = static_cast<unsigned char>(s[0]);
        const std::size_t n = utf8_sequence_length(s);
        if (n == 0) {
            hex(b);
            s.remove_prefix(1);
            continue;
        }
        if (n == 1) {
            if (b == '\\') {
                out += "\\\\";
            } else if (b == '\n') {
                out += "\\n";
            } else if (b == '\r') {
                out += "\\r";
            } else if (b == '\t') {
                out += "\\t";
            } else if (b < 0x20U || b == 0x7FU) {
                hex(b);
            } else {
                out += static_cast<char>(b);
            }
        } else if (n == 2 && b == 0xC2U && static_cast<unsigned char>(s[1]) <= 0x9FU) {
            hex(b);  // a C1 control character, encoded in UTF-8
            hex(static_cast<unsigned char>(s[1]));
        } else {
            out.append(s.substr(0, n));
        }
        s.remove_prefix(n);
    }
    return out;
}

std::string escape_output(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return escape_text(s);
}

}  // namespace mtce

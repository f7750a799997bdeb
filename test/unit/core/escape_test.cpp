#define BOOST_TEST_MODULE core_escape_test
#include <boost/test/unit_test.hpp>

#include <string>

#include "core/escape.hpp"

using mtce::escape_output;
using mtce::escape_text;

BOOST_AUTO_TEST_CASE(plain_text_and_printable_utf8_are_kept) {
    BOOST_TEST(escape_text("all good: 3 tests, 0 failed") == "all good: 3 tests, 0 failed");
    BOOST_TEST(escape_text("Grüße, 日本, 🙂") == "Grüße, 日本, 🙂");
    BOOST_TEST(escape_text("") == "");
}

BOOST_AUTO_TEST_CASE(line_ends_and_tabs_cannot_start_a_new_line) {
    BOOST_TEST(escape_text("one\ntwo\r\nthree\tfour") == "one\\ntwo\\r\\nthree\\tfour");
    BOOST_TEST(escape_text("ok\nMon Dec  7 [error] forged") == "ok\\nMon Dec  7 [error] forged");
}

BOOST_AUTO_TEST_CASE(terminal_escapes_and_other_controls_become_hex) {
    BOOST_TEST(escape_text("\x1b[2J\x1b]0;title\x07") == "\\x1b[2J\\x1b]0;title\\x07");
    BOOST_TEST(escape_text(std::string{"a\0b", 3}) == "a\\x00b");
    BOOST_TEST(escape_text("\x7f") == "\\x7f");
    // C1 controls in UTF-8 (U+009B is an 8-bit CSI to some terminals).
    BOOST_TEST(escape_text("\xc2\x9b"
                           "31m") == "\\xc2\\x9b31m");
    BOOST_TEST(escape_text("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is printable
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_hex_byte_by_byte) {
    BOOST_TEST(escape_text("\xff\xfe") == "\\xff\\xfe");
    BOOST_TEST(escape_text("\xc3") == "\\xc3");                             // truncated
    BOOST_TEST(escape_text("\xc0\xaf") == "\\xc0\\xaf");                    // overlong '/'
    BOOST_TEST(escape_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");           // surrogate
    BOOST_TEST(escape_text("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
    BOOST_TEST(escape_text("\x80"
                           "abc") == "\\x80abc");  // stray continuation byte
}

BOOST_AUTO_TEST_CASE(a_backslash_is_doubled_so_escapes_cannot_be_forged) {
    BOOST_TEST(escape_text("C:\\x1b") == "C:\\\\x1b");
}

BOOST_AUTO_TEST_CASE(output_loses_its_final_line_ends_only) {
    BOOST_TEST(escape_output("failed: disk\n") == "failed: disk");
    BOOST_TEST(escape_output("a\nb\r\n\n") == "a\\nb");
    BOOST_TEST(escape_output("\n\nx") == "\\n\\nx");
}

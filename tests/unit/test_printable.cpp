#include "util/printable.hpp"

#include <doctest/doctest.h>
#include <glib.h>

#include <string>

using left4me::appendEscaped;
using left4me::quoteArgument;

namespace {
bool validUtf8(const std::string& text)
{
    return g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr) != 0;
}
} // namespace

TEST_CASE("an argument is quoted with its control characters escaped, C1 included")
{
    CHECK(quoteArgument("demo") == "\"demo\"");
    CHECK(quoteArgument("a\nb\tc\x7f") == "\"a\\x0ab\\x09c\\x7f\"");
    // U+009B is CSI to some terminals: the message names its bytes.
    CHECK(quoteArgument("a\u009b2J") == "\"a\\xc2\\x9b2J\"");
    // Text that is not a control passes, U+00A0 included.
    CHECK(quoteArgument("d\u00e9mo\u00a0") == "\"d\u00e9mo\u00a0\"");
}

TEST_CASE("a long argument is cut between characters, so the message stays valid UTF-8")
{
    // dbus-daemon disconnects a peer that sends invalid UTF-8: half of "é"
    // in an error reply once cost the daemon its bus connection.
    std::string name(63, 'a');
    CHECK(quoteArgument(name + "\u00e9\u00e9") == "\"" + name + "\"...");
    CHECK(quoteArgument(std::string(62, 'a') + "\u20ac") == "\"" + std::string(62, 'a') + "\"...");
    CHECK(quoteArgument(std::string(61, 'a') + "\u20ac") == "\"" + std::string(61, 'a') + "\u20ac\"");
    CHECK(quoteArgument(std::string(63, 'a') + "\U0001F600") == "\"" + name + "\"...");
    CHECK(quoteArgument(std::string(64, 'a')) == "\"" + std::string(64, 'a') + "\"");
    CHECK(quoteArgument(std::string(65, 'a')) == "\"" + std::string(64, 'a') + "\"...");
    CHECK(quoteArgument("abc\u00e9", 4) == "\"abc\"...");
    // A C1 control split by the cut is dropped whole, not half escaped.
    CHECK(quoteArgument(std::string(63, 'a') + "\u009b") == "\"" + name + "\"...");
    for (std::size_t limit = 0; limit < 12; ++limit)
    {
        CHECK(validUtf8(quoteArgument("x\u00e9\u20ac\U0001F600\u009by", limit)));
    }
}

TEST_CASE("escaping keeps TAB only when asked to")
{
    std::string out;
    appendEscaped(out, "a\tb\x1b", true);
    CHECK(out == "a\tb\\x1b");
    out.clear();
    appendEscaped(out, "a\tb", false);
    CHECK(out == "a\\x09b");
}

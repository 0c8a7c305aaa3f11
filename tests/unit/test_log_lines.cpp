#include "builds/log_lines.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("lines are cut at newlines, which are dropped, across chunk boundaries")
{
    LineSplitter splitter;
    std::vector<std::string> out;
    splitter.feed("one\ntw", out);
    CHECK(out == std::vector<std::string>{"one"});
    CHECK_FALSE(splitter.atLineStart());
    splitter.feed("o\n\nthree\n", out);
    CHECK(out == std::vector<std::string>{"one", "two", "", "three"});
    CHECK(splitter.atLineStart());
}

TEST_CASE("a last line without a newline is delivered at the end of the stream")
{
    LineSplitter splitter;
    std::vector<std::string> out;
    splitter.feed("done", out);
    CHECK(out.empty());
    splitter.finish(out);
    CHECK(out == std::vector<std::string>{"done"});
    splitter.finish(out);
    CHECK(out.size() == 1);
}

TEST_CASE("a line over 64 KiB is split into pieces of 64 KiB")
{
    LineSplitter splitter;
    std::vector<std::string> out;
    splitter.feed(std::string(LineSplitter::maxLineBytes * 2 + 10, 'x') + "\n", out);
    REQUIRE(out.size() == 3);
    CHECK(out[0].size() == LineSplitter::maxLineBytes);
    CHECK(out[1].size() == LineSplitter::maxLineBytes);
    CHECK(out[2].size() == 10);
}

TEST_CASE("a line of exactly 64 KiB is one line, however the reads were cut")
{
    // Found by the log fuzz target: a read ending right after the 64 KiB
    // made the newline an extra empty line, so ReadLog's replay and the Log
    // signals could number the lines differently.
    const std::string line(LineSplitter::maxLineBytes, 'x');
    LineSplitter whole;
    std::vector<std::string> expected;
    whole.feed(line + "\nnext\n", expected);
    CHECK(expected == std::vector<std::string>{line, "next"});

    LineSplitter pieces;
    std::vector<std::string> out;
    pieces.feed(line, out);
    CHECK(out.empty());
    CHECK_FALSE(pieces.atLineStart());
    pieces.feed("\nnext\n", out);
    CHECK(out == expected);

    LineSplitter longer;
    out.clear();
    longer.feed(line, out);
    longer.feed("y\n", out);
    CHECK(out == std::vector<std::string>{line, "y"});
}

TEST_CASE("invalid UTF-8 and NUL bytes become U+FFFD; valid UTF-8 is kept")
{
    CHECK(sanitizeUtf8("gr\xC3\xBC\xC3\x9F") == "gr\xC3\xBC\xC3\x9F");
    CHECK(sanitizeUtf8("\xF0\x9F\x8E\xAE") == "\xF0\x9F\x8E\xAE");
    CHECK(sanitizeUtf8(std::string("a\0b", 3)) == "a\xEF\xBF\xBD"
                                                  "b");
    CHECK(sanitizeUtf8("\xFF") == "\xEF\xBF\xBD");
    CHECK(sanitizeUtf8("\xC3") == "\xEF\xBF\xBD");
    CHECK(sanitizeUtf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                 // overlong '/'
    CHECK(sanitizeUtf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
}

#include "build/log_lines.hpp"
#include "sandbox/stream_lines.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("stderr lines carry the mark, stdout lines are stored as written")
{
    StreamLines lines;
    std::string out;
    lines.feed(Stream::out, "to stdout\n", out);
    lines.feed(Stream::err, "to stderr\n", out);
    CHECK(out == "to stdout\n\x1eto stderr\n");
}

TEST_CASE("a partial line of one stream is never cut into by the other")
{
    StreamLines lines;
    std::string out;
    lines.feed(Stream::out, "progress: 1", out);
    lines.feed(Stream::err, "warning\n", out);
    lines.feed(Stream::out, "0%\n", out);
    CHECK(out == "\x1ewarning\nprogress: 10%\n");
}

TEST_CASE("the mark byte in the script's own output becomes U+FFFD, so it cannot be forged")
{
    StreamLines lines;
    std::string out;
    lines.feed(Stream::out,
               "\x1e"
               "fake\n",
               out);
    lines.feed(Stream::err,
               "a\x1e"
               "b\n",
               out);
    CHECK(out == "\xef\xbf\xbd"
                 "fake\n\x1e"
                 "a\xef\xbf\xbd"
                 "b\n");
}

TEST_CASE("unfinished last lines are ended at the finish")
{
    StreamLines lines;
    std::string out;
    lines.feed(Stream::out, "no newline", out);
    lines.feed(Stream::err, "nor here", out);
    lines.finish(Stream::out, out);
    lines.finish(Stream::err, out);
    lines.finish(Stream::err, out);
    CHECK(out == "no newline\n\x1enor here\n");
}

TEST_CASE("a runaway stderr line is cut so that no marked piece exceeds the daemon's limit")
{
    StreamLines lines;
    std::string out;
    lines.feed(Stream::err, std::string(StreamLines::maxLineBytes * 2, 'e') + "\n", out);
    lines.feed(Stream::out, std::string(StreamLines::maxLineBytes, 'o') + "\n", out);
    // What the daemon makes of it: the same lines, none split after a mark.
    LineSplitter splitter;
    std::vector<std::string> stored;
    splitter.feed(out, stored);
    REQUIRE(stored.size() == 4);
    for (std::size_t i = 0; i < 3; ++i)
    {
        CAPTURE(i);
        CHECK(stored[i].front() == '\x1e');
        CHECK(stored[i].size() <= LineSplitter::maxLineBytes);
    }
    CHECK(stored[0].size() + stored[1].size() + stored[2].size() - 3 == StreamLines::maxLineBytes * 2);
    CHECK(stored[3] == std::string(StreamLines::maxLineBytes, 'o'));
}

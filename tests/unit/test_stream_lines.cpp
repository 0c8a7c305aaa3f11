#include "builds/log_lines.hpp"
#include "sandbox/stream_lines.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>

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

namespace {

// The relay's rules applied one byte at a time, as StreamLines first did:
// the oracle for its span-wise version.
struct ByteByByte
{
    std::string lines[2];

    void feed(Stream stream, std::string_view chunk, std::string& out)
    {
        std::string& line = lines[stream == Stream::err ? 1 : 0];
        const std::size_t limit = stream == Stream::err ? StreamLines::maxLineBytes - 1 : StreamLines::maxLineBytes;
        for (char c : chunk)
        {
            if (c == '\n')
            {
                emit(stream, out);
                continue;
            }
            std::string_view bytes = c == stderrMark ? std::string_view("\xef\xbf\xbd") : std::string_view(&c, 1);
            if (line.size() + bytes.size() > limit)
            {
                emit(stream, out);
            }
            line.append(bytes);
        }
    }

    void finish(Stream stream, std::string& out)
    {
        if (!lines[stream == Stream::err ? 1 : 0].empty())
        {
            emit(stream, out);
        }
    }

    void emit(Stream stream, std::string& out)
    {
        std::string& line = lines[stream == Stream::err ? 1 : 0];
        out += (stream == Stream::err ? std::string(1, stderrMark) : std::string()) + line + '\n';
        line.clear();
    }
};

} // namespace

TEST_CASE("lines, marks and cuts come out as the byte-by-byte rules make them, however the input is chunked")
{
    std::mt19937 random(20261202);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
    for (int round = 0; round < 300; ++round)
    {
        CAPTURE(round);
        StreamLines spans;
        ByteByByte bytes;
        std::string expected;
        std::string got;
        for (int step = 0; step < 12; ++step)
        {
            Stream stream = pick(2) == 0 ? Stream::out : Stream::err;
            std::string chunk;
            // Near the limit now and then, so that cuts land on the mark's
            // replacement, on a newline and one byte either side, in a line
            // begun earlier or within this chunk.
            if (pick(4) == 0)
            {
                if (pick(2) == 0)
                {
                    chunk.push_back('\n');
                }
                chunk.append(StreamLines::maxLineBytes - 4 + pick(8), 'x');
            }
            for (std::size_t i = pick(40); i > 0; --i)
            {
                static constexpr char alphabet[] = {'a', 'b', '\n', stderrMark, '\xef', '\xbd'};
                chunk += alphabet[pick(sizeof alphabet)];
            }
            // Fed whole, or in two reads.
            std::size_t cut = pick(2) == 0 ? chunk.size() : pick(chunk.size() + 1);
            spans.feed(stream, std::string_view(chunk).substr(0, cut), got);
            spans.feed(stream, std::string_view(chunk).substr(cut), got);
            bytes.feed(stream, chunk, expected);
        }
        for (Stream stream : {Stream::out, Stream::err})
        {
            spans.finish(stream, got);
            bytes.finish(stream, expected);
        }
        REQUIRE(got == expected);
    }
}

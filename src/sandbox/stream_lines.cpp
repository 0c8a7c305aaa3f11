#include "sandbox/stream_lines.hpp"

#include <algorithm>

namespace left4me {

namespace {

constexpr std::string_view replacement = "\xef\xbf\xbd"; // U+FFFD

} // namespace

void StreamLines::feed(Stream stream, std::string_view chunk, std::string& out)
{
    // Span by span between the bytes that need a decision (newline, mark),
    // not byte by byte: this runs over every byte a build prints.
    std::size_t mark = chunk.find(stderrMark);
    std::size_t pos = 0;
    while (pos < chunk.size())
    {
        if (mark < pos)
        {
            mark = chunk.find(stderrMark, pos);
        }
        std::size_t stop = std::min(chunk.find('\n', pos), mark);
        auto span = chunk.substr(pos, stop - pos);
        if (stop < mark && partial(stream).empty() && span.size() <= limit(stream))
        {
            // The common case, a whole line within one read: straight out.
            put(stream, span, out);
            pos = stop + 1;
            continue;
        }
        append(stream, span, out);
        if (stop >= chunk.size())
        {
            return;
        }
        if (stop == mark)
        {
            // The replacement's three bytes never straddle a cut.
            if (partial(stream).size() + replacement.size() > limit(stream))
            {
                emit(stream, out);
            }
            partial(stream).append(replacement);
        }
        else
        {
            emit(stream, out);
        }
        pos = stop + 1;
    }
}

void StreamLines::append(Stream stream, std::string_view bytes, std::string& out)
{
    std::string& line = partial(stream);
    const std::size_t max = limit(stream);
    while (!bytes.empty())
    {
        // A runaway line goes out in pieces, as the daemon would cut it. A
        // line of exactly the limit is whole: cut only when more comes.
        if (line.size() == max)
        {
            emit(stream, out);
        }
        std::size_t take = std::min(bytes.size(), max - line.size());
        line.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
    }
}

void StreamLines::finish(Stream stream, std::string& out)
{
    if (!partial(stream).empty())
    {
        emit(stream, out);
    }
}

void StreamLines::emit(Stream stream, std::string& out)
{
    put(stream, partial(stream), out);
    partial(stream).clear();
}

void StreamLines::put(Stream stream, std::string_view line, std::string& out)
{
    if (stream == Stream::err)
    {
        out.push_back(stderrMark);
    }
    out.append(line);
    out.push_back('\n');
}

} // namespace left4me

#include "sandbox/stream_lines.hpp"

namespace left4me {

namespace {

constexpr std::string_view replacement = "\xef\xbf\xbd"; // U+FFFD

} // namespace

void StreamLines::feed(Stream stream, std::string_view chunk, std::string& out)
{
    std::string& line = partial(stream);
    for (char c : chunk)
    {
        if (c == '\n')
        {
            emit(stream, out);
            continue;
        }
        std::string_view bytes = c == stderrMark ? replacement : std::string_view(&c, 1);
        // A runaway line goes out in pieces, as the daemon would cut it. A
        // line of exactly the limit is whole: cut only when more comes.
        if (line.size() + bytes.size() > limit(stream))
        {
            emit(stream, out);
        }
        line.append(bytes);
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
    std::string& line = partial(stream);
    if (stream == Stream::err)
    {
        out.push_back(stderrMark);
    }
    out.append(line);
    out.push_back('\n');
    line.clear();
}

} // namespace left4me

#include "builds/log_lines.hpp"

namespace left4me {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at S[I], or 0 if invalid.
std::size_t validSequence(std::string_view s, std::size_t i)
{
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    auto cont = [&](std::size_t k) { return k < s.size() && (byte(k) & 0xC0U) == 0x80U; };
    unsigned char c = byte(i);
    if (c < 0x80)
    {
        return c == 0 ? 0 : 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
    {
        return cont(i + 1) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF)
    {
        if (!cont(i + 1) || !cont(i + 2))
        {
            return 0;
        }
        unsigned char c1 = byte(i + 1);
        // Reject overlong forms and UTF-16 surrogates.
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F))
        {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4)
    {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3))
        {
            return 0;
        }
        unsigned char c1 = byte(i + 1);
        if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
        {
            return 0;
        }
        return 4;
    }
    return 0;
}

} // namespace

std::string sanitizeUtf8(std::string_view bytes)
{
    // Build logs are mostly ASCII: one branch-free pass over the line (the
    // compiler vectorizes it) spares the per-byte decoding below.
    unsigned char special = 0;
    for (char c : bytes)
    {
        auto byte = static_cast<unsigned char>(c);
        special |= static_cast<unsigned char>((byte & 0x80U) | static_cast<unsigned char>(byte == 0));
    }
    if (special == 0)
    {
        return std::string(bytes);
    }
    std::string out;
    out.reserve(bytes.size());
    std::size_t i = 0;
    while (i < bytes.size())
    {
        auto n = validSequence(bytes, i);
        if (n == 0)
        {
            out += replacement;
            ++i;
        }
        else
        {
            out.append(bytes.substr(i, n));
            i += n;
        }
    }
    return out;
}

void LineSplitter::feed(std::string_view chunk, std::vector<std::string>& out)
{
    while (!chunk.empty())
    {
        auto newline = chunk.find('\n');
        auto room = maxLineBytes - partial_.size();
        if (newline != std::string_view::npos && newline <= room)
        {
            if (partial_.empty())
            {
                // The common case, a whole line in the chunk: no copy
                // through partial_.
                out.push_back(sanitizeUtf8(chunk.substr(0, newline)));
                chunk.remove_prefix(newline + 1);
                continue;
            }
            partial_.append(chunk.substr(0, newline));
            out.push_back(sanitizeUtf8(partial_));
            partial_.clear();
            chunk.remove_prefix(newline + 1);
            continue;
        }
        // A line of exactly maxLineBytes is whole: it is cut only when
        // more than a newline follows, wherever the reads happen to end.
        if (chunk.size() <= room)
        {
            partial_.append(chunk);
            return;
        }
        // The line is too long: emit a full piece and go on with the rest.
        partial_.append(chunk.substr(0, room));
        out.push_back(sanitizeUtf8(partial_));
        partial_.clear();
        chunk.remove_prefix(room);
    }
}

void LineSplitter::finish(std::vector<std::string>& out)
{
    if (!partial_.empty())
    {
        out.push_back(sanitizeUtf8(partial_));
        partial_.clear();
    }
}

} // namespace left4me

#include "util/printable.hpp"

namespace left4me {

std::size_t controlAt(std::string_view text, std::size_t i)
{
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20U || byte == 0x7FU)
    {
        return 1;
    }
    if (byte == 0xC2U && i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xE0U) == 0x80U)
    {
        return 2;
    }
    return 0;
}

void appendEscaped(std::string& out, std::string_view text, bool keepTab)
{
    static constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < text.size();)
    {
        std::size_t length = controlAt(text, i);
        if (length == 0 || (keepTab && text[i] == '\t'))
        {
            out += text[i++];
            continue;
        }
        for (; length > 0; --length, ++i)
        {
            auto byte = static_cast<unsigned char>(text[i]);
            out += "\\x";
            out += hex[byte >> 4U];
            out += hex[byte & 0xFU];
        }
    }
}

std::string quoteArgument(std::string_view text, std::size_t limit)
{
    std::size_t cut = text.size();
    if (cut > limit)
    {
        // Back to the start of the character the limit falls in.
        cut = limit;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U)
        {
            --cut;
        }
    }
    std::string out = "\"";
    appendEscaped(out, text.substr(0, cut));
    out += cut < text.size() ? "\"..." : "\"";
    return out;
}

} // namespace left4me

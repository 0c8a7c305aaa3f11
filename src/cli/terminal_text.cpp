#include "cli/terminal_text.hpp"

namespace left4me::cli {

namespace {

// The length of the control character at TEXT[I], 0 if there is none: 1 for
// C0 and DEL, 2 for a C1 control, which UTF-8 writes as C2 80..C2 9F.
size_t controlAt(std::string_view text, size_t i)
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

} // namespace

std::string terminalText(std::string_view text, Controls how)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string shown;
    shown.reserve(text.size());
    for (size_t i = 0; i < text.size();)
    {
        size_t length = controlAt(text, i);
        if (length == 0 || (how == Controls::escape && text[i] == '\t'))
        {
            shown += text[i++];
            continue;
        }
        if (how == Controls::blank)
        {
            shown += ' ';
            i += length;
            continue;
        }
        for (; length > 0; --length, ++i)
        {
            auto byte = static_cast<unsigned char>(text[i]);
            shown += "\\x";
            shown += hex[byte >> 4U];
            shown += hex[byte & 0xFU];
        }
    }
    return shown;
}

} // namespace left4me::cli

#include "cli/i18n.hpp"

#include "config.h"

#include <clocale>
#include <cstdlib>
#include <cstring>

namespace left4me::cli {

std::string substitute(std::string text, std::initializer_list<std::string_view> args)
{
    size_t from = 0;
    for (auto arg : args)
    {
        auto at = text.find("%s", from);
        if (at == std::string::npos)
        {
            break;
        }
        text.replace(at, 2, arg);
        from = at + arg.size();
    }
    return text;
}

void setUpTranslations()
{
    const char* locale = std::setlocale(LC_ALL, "");
    const char* language = std::getenv("LANGUAGE");
    bool plainC = locale == nullptr || std::strcmp(locale, "C") == 0 || std::strcmp(locale, "POSIX") == 0;
    if (plainC && language != nullptr && *language != '\0')
    {
        std::setlocale(LC_ALL, "C.UTF-8");
    }
    bindtextdomain("left4me-builder", LEFT4ME_LOCALE_DIR);
    bind_textdomain_codeset("left4me-builder", "UTF-8");
}

} // namespace left4me::cli

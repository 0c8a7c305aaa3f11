#pragma once

// gettext for the CLI's user-facing text. xgettext finds the msgids through
// the _ and N_ keywords (meson's glib preset); po/POTFILES lists the files.
#include <libintl.h>

#include <initializer_list>
#include <string>
#include <string_view>

#ifndef N_
#define N_(text) text
#endif

namespace left4me::cli {

inline const char* _(const char* msgid)
{
    return dgettext("left4me-builder", msgid);
}

// The translation of MSGID with each "%s" replaced by the next argument, in
// order; a translation may not reorder them.
std::string substitute(std::string text, std::initializer_list<std::string_view> args);

template <typename... Args> std::string format(const char* msgid, const Args&... args)
{
    return substitute(_(msgid), {std::string_view(args)...});
}

// Sets the locale from the environment and binds the message catalog.
// glibc ignores LANGUAGE under the C locale; then C.UTF-8 is used instead,
// so that `LANGUAGE=de left4me-builderctl` works in a bare environment.
void setUpTranslations();

} // namespace left4me::cli

#pragma once

// The polkit messages shown in authentication dialogs. They are English
// msgids: polkitd translates them with our gettext domain
// (polkit.gettext_domain) and fills in $(key) from the check's details.
// po/POTFILES lists this file so xgettext extracts them.
#define N_(text) text

namespace left4me::messages {

inline constexpr const char* build = N_("Authentication is required to run a build script for overlay $(overlay)");
inline constexpr const char* cancelOther = N_("Authentication is required to cancel build $(job) of another user");
inline constexpr const char* mount = N_("Authentication is required to mount the overlay of instance $(instance)");
inline constexpr const char* unmount = N_("Authentication is required to unmount the overlay of instance $(instance)");
inline constexpr const char* applyCaps =
    N_("Authentication is required to set capabilities $(capabilities) on $(binary) of add-on $(addon)");
inline constexpr const char* installUnits =
    N_("Authentication is required to install the systemd units $(units) of add-on $(addon) $(version)");
inline constexpr const char* removeUnits =
    N_("Authentication is required to remove the systemd units of add-on $(addon)");
inline constexpr const char* enableServer =
    N_("Authentication is required to enable instance $(instance) of $(template) at boot");
inline constexpr const char* disableServer =
    N_("Authentication is required to disable instance $(instance) of $(template) at boot");

} // namespace left4me::messages

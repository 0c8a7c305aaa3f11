#pragma once

// Every D-Bus and polkit name the service uses, in one place, so that the
// XML, the polkit policy, the tests and the code cannot drift apart silently.

namespace left4me::names {

inline constexpr const char* busName = "org.left4me.Builder";
inline constexpr const char* managerPath = "/org/left4me/Builder";
inline constexpr const char* jobPathPrefix = "/org/left4me/Builder/job/";
inline constexpr const char* managerInterface = "org.left4me.Builder";
inline constexpr const char* jobInterface = "org.left4me.Builder.Job";
inline constexpr const char* mountPathPrefix = "/org/left4me/Builder/mount";
inline constexpr const char* mountInterface = "org.left4me.Builder.Mount";
inline constexpr const char* addonPathPrefix = "/org/left4me/Builder/addon";
inline constexpr const char* addonUnitsInterface = "org.left4me.Builder.AddonUnits";

namespace error {
inline constexpr const char* notAuthorized = "org.left4me.Builder.Error.NotAuthorized";
inline constexpr const char* interactiveAuthorizationRequired =
    "org.left4me.Builder.Error.InteractiveAuthorizationRequired";
inline constexpr const char* authorizationUnavailable = "org.left4me.Builder.Error.AuthorizationUnavailable";
inline constexpr const char* invalidArgument = "org.left4me.Builder.Error.InvalidArgument";
inline constexpr const char* busy = "org.left4me.Builder.Error.Busy";
inline constexpr const char* noSuchJob = "org.left4me.Builder.Error.NoSuchJob";
inline constexpr const char* notSupported = "org.left4me.Builder.Error.NotSupported";
inline constexpr const char* limitsExceeded = "org.left4me.Builder.Error.LimitsExceeded";
inline constexpr const char* limitsUnenforceable = "org.left4me.Builder.Error.LimitsUnenforceable";
inline constexpr const char* unsupportedFilesystem = "org.left4me.Builder.Error.UnsupportedFilesystem";
inline constexpr const char* alreadyMounted = "org.left4me.Builder.Error.AlreadyMounted";
inline constexpr const char* notMounted = "org.left4me.Builder.Error.NotMounted";
inline constexpr const char* capabilityNotAllowed = "org.left4me.Builder.Error.CapabilityNotAllowed";
inline constexpr const char* unitNotAllowed = "org.left4me.Builder.Error.UnitNotAllowed";
inline constexpr const char* noSuchAddon = "org.left4me.Builder.Error.NoSuchAddon";
inline constexpr const char* failed = "org.left4me.Builder.Error.Failed";
} // namespace error

namespace action {
inline constexpr const char* build = "org.left4me.builder.build";
inline constexpr const char* cancelOther = "org.left4me.builder.cancel-other";
inline constexpr const char* mount = "org.left4me.builder.mount";
inline constexpr const char* applyCaps = "org.left4me.builder.apply-caps";
inline constexpr const char* manageUnits = "org.left4me.builder.manage-units";
inline constexpr const char* enableServer = "org.left4me.builder.enable-server";
} // namespace action

} // namespace left4me::names

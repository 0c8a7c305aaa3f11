#pragma once

// MESSAGE_IDs of the journal entries an admin or auditor may want to find
// with `journalctl MESSAGE_ID=...` (the README and left4me-builderd(8) list
// them).
namespace left4me::messageId {

inline constexpr const char* buildStarted = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a51";
inline constexpr const char* buildFinished = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a52";
inline constexpr const char* authorizationDenied = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a53";
inline constexpr const char* capsApplied = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a54";
inline constexpr const char* unitsInstalled = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a61";
inline constexpr const char* unitsRemoved = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a62";
inline constexpr const char* buildTimeoutWarning = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a7d";
inline constexpr const char* serverEnabled = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a63";
inline constexpr const char* serverDisabled = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a64";

} // namespace left4me::messageId

#pragma once

#include <sys/capability.h>

#include <optional>
#include <string>
#include <vector>

namespace left4me {

// The outcome of checking the capabilities a caller asked for.
struct CapabilityCheck
{
    std::vector<cap_value_t> values; // in the order asked, without duplicates
    std::vector<std::string> names;  // normalized, e.g. "cap_net_raw"
    // Set when a name is not a capability libcap knows: InvalidArgument.
    std::optional<std::string> unknown;
    // Set when a known capability is not in the allowlist: CapabilityNotAllowed.
    std::optional<std::string> notAllowed;
};

// Normalizes each of REQUESTED ("CAP_BPF", "bpf", "cap_bpf"), looks it up in
// libcap and checks it against ALLOWLIST (normalized names). Fails closed: the
// first problem is reported and VALUES must not be used then.
CapabilityCheck checkCapabilities(const std::vector<std::string>& requested, const std::vector<std::string>& allowlist);

// "cap_net_raw,cap_bpf=ep" for a set of permitted+effective capabilities,
// "" for none: the form getcap prints, used in the journal.
std::string capabilityText(const std::vector<std::string>& names);

} // namespace left4me

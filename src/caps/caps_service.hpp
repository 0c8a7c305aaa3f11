#pragma once

#include "caps/caps_intent.hpp"
#include "caps/caps_request.hpp"
#include "ops/reply.hpp"
#include "util/config.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace left4me {

// ApplyCaps, and the recovery of one cut short by the daemon's death.
class CapsService
{
  public:
    // INTENT_DIR (in the state directory) holds the intent of an activation
    // in progress; see CapsIntent.
    CapsService(const Config& config, std::string intentDir);

    // Sets exactly REQUEST.capabilities (permitted + effective) as the file
    // capabilities of the staged binary, and with `activate` points the
    // add-on's `current` link at the version. The binary is opened with
    // openat2 beneath the add-on root without following any symlink, checked
    // on the fd (regular, one link, not group/world-writable, owned by root
    // or the owner user, not setuid/setgid) and the capabilities are written
    // to that fd, never by path. If activation fails, the binary's previous
    // capabilities are restored. Throws OpError: InvalidArgument,
    // CapabilityNotAllowed or Failed.
    void apply(const ApplyCapsRequest& request, const Reply<Done>& reply) const;

    // Settles each intent an earlier daemon left: if `current` already
    // points at the new version the call had completed and stays; otherwise
    // the binary gets its previous capabilities back and stray temporary
    // links go. Either way the add-on ends as before the call or as after it.
    void recover() const;

  private:
    [[nodiscard]] std::string intentPath(const std::string& addon) const;
    void settle(const CapsIntent& intent) const;

    const Config& config_;
    std::string intentDir_;
};

} // namespace left4me

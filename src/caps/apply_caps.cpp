#include "caps/apply_caps.hpp"

#include "bus/names.hpp"
#include "util/join.hpp"
#include "util/log.hpp"
#include "util/resolve.hpp"
#include "util/users.hpp"

#include <fcntl.h>
#include <sdbus-c++/Error.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace left4me {

namespace {

constexpr const char* xattrName = "security.capability";

[[noreturn]] void invalid(const std::string& message)
{
    throw sdbus::Error(names::error::invalidArgument, message);
}

[[noreturn]] void failed(const std::string& message)
{
    throw sdbus::Error(names::error::failed, message);
}

std::string errnoText(int error)
{
    return std::strerror(error);
}

uid_t ownerUid(const std::string& user)
{
    auto ids = lookupUser(user);
    if (!ids)
    {
        failed("The configured owner user \"" + user + "\" does not exist; run systemd-sysusers.");
    }
    return ids->uid;
}

// The capability xattr exactly as stored, so a rollback restores it byte
// for byte; nullopt when the file has none.
std::optional<std::string> readCapabilityXattr(int fd)
{
    std::string value(64, '\0');
    auto n = ::fgetxattr(fd, xattrName, value.data(), value.size());
    if (n < 0)
    {
        if (errno == ENODATA)
        {
            return std::nullopt;
        }
        failed("Cannot read the current capabilities of the binary: " + errnoText(errno));
    }
    value.resize(static_cast<std::size_t>(n));
    return value;
}

std::string currentCapabilityText(int fd)
{
    std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)> caps(cap_get_fd(fd), cap_free);
    if (!caps)
    {
        return "";
    }
    std::unique_ptr<char, int (*)(void*)> text(cap_to_text(caps.get(), nullptr), cap_free);
    return text ? std::string(text.get()) : std::string("?");
}

void restoreCapabilityXattr(int fd, const std::optional<std::string>& old)
{
    int rc = old ? ::fsetxattr(fd, xattrName, old->data(), old->size(), 0) : ::fremovexattr(fd, xattrName);
    if (rc != 0 && !(errno == ENODATA && !old))
    {
        log::error("Rollback could not restore the binary's previous capabilities: " + errnoText(errno));
    }
}

void setCapabilities(int fd, const std::vector<cap_value_t>& values)
{
    if (values.empty())
    {
        if (::fremovexattr(fd, xattrName) != 0 && errno != ENODATA)
        {
            failed("Step \"clear capabilities\" failed: " + errnoText(errno));
        }
        return;
    }
    std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)> caps(cap_init(), cap_free);
    auto count = static_cast<int>(values.size());
    if (!caps || cap_set_flag(caps.get(), CAP_PERMITTED, count, values.data(), CAP_SET) != 0 ||
        cap_set_flag(caps.get(), CAP_EFFECTIVE, count, values.data(), CAP_SET) != 0)
    {
        failed("Step \"build the capability set\" failed: " + errnoText(errno));
    }
    // cap_set_fd writes the xattr on the fd we checked: no path, no window.
    if (cap_set_fd(fd, caps.get()) != 0)
    {
        failed("Step \"set capabilities\" failed: " + errnoText(errno));
    }
}

// Opens the binary beneath the add-on root, refusing symlinks anywhere.
UniqueFd openBinary(int rootFd, const std::string& relative, const std::string& shown)
{
    // No O_NOFOLLOW: with O_PATH it would open a trailing symlink itself;
    // without it RESOLVE_NO_SYMLINKS refuses any symlink with ELOOP.
    UniqueFd path = openBeneath(rootFd, relative, O_PATH);
    if (!path)
    {
        int error = errno;
        switch (error)
        {
        case ENOENT:
            invalid("Argument binary: " + shown + " does not exist.");
        case ELOOP:
            invalid("Argument binary: " + shown + " has a symlink in its path; symlinks are refused.");
        case EXDEV:
            invalid("Argument binary: " + shown + " leaves the add-on root or crosses a mount point.");
        case ENOTDIR:
            invalid("Argument binary: a component of " + shown + " is not a directory.");
        default:
            failed("Cannot open " + shown + ": " + errnoText(error));
        }
    }
    struct stat st
    {
    };
    if (::fstat(path.get(), &st) != 0)
    {
        failed("Cannot inspect " + shown + ": " + errnoText(errno));
    }
    if (!S_ISREG(st.st_mode))
    {
        invalid("Argument binary: " + shown + " must be a regular file, not a directory, FIFO, device or socket.");
    }
    // Only now, knowing it is a regular file, open it for real; through the
    // O_PATH fd, so it is the very file just checked.
    UniqueFd fd(::open(("/proc/self/fd/" + std::to_string(path.get())).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd)
    {
        failed("Cannot open " + shown + ": " + errnoText(errno));
    }
    return fd;
}

void checkBinary(int fd, const std::string& shown, uid_t owner, const std::string& ownerName)
{
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0)
    {
        failed("Cannot inspect " + shown + ": " + errnoText(errno));
    }
    if (!S_ISREG(st.st_mode))
    {
        invalid("Argument binary: " + shown + " must be a regular file.");
    }
    if (st.st_nlink != 1)
    {
        invalid("Argument binary: " + shown + " has " + std::to_string(st.st_nlink) +
                " hard links; it must have exactly one, so that no other file can gain capabilities through it.");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
        invalid("Argument binary: " + shown +
                " is writable by its group or by others; make it writable by its "
                "owner only (chmod go-w).");
    }
    if (st.st_uid != 0 && st.st_uid != owner)
    {
        invalid("Argument binary: " + shown + " must be owned by root or by " + ownerName + ", not by uid " +
                std::to_string(st.st_uid) + ".");
    }
    if ((st.st_mode & (S_ISUID | S_ISGID)) != 0)
    {
        invalid("Argument binary: " + shown + " is setuid or setgid; such files never get capabilities.");
    }
}

// Points <addon>/current at versions/<version> with a rename over the old
// link, so a reader sees the old target or the new one, never none.
void activate(int rootFd, const ApplyCapsRequest& request, const std::string& addonPath)
{
    UniqueFd addon = openBeneath(rootFd, request.addon, O_PATH | O_DIRECTORY);
    if (!addon)
    {
        failed("Step \"open the add-on directory\" failed: " + errnoText(errno));
    }
    std::string old(4096, '\0');
    auto n = ::readlinkat(addon.get(), "current", old.data(), old.size());
    if (n < 0 && errno != ENOENT)
    {
        failed("Step \"read " + addonPath + "/current\" failed: " +
               (errno == EINVAL ? std::string("it exists and is not a symlink") : errnoText(errno)));
    }
    static std::atomic<unsigned> counter{0};
    auto tmp = ".current.tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    auto target = "versions/" + request.version;
    if (::symlinkat(target.c_str(), addon.get(), tmp.c_str()) != 0)
    {
        failed("Step \"create the new current link\" failed: " + errnoText(errno));
    }
    if (::renameat(addon.get(), tmp.c_str(), addon.get(), "current") != 0)
    {
        int error = errno;
        (void)::unlinkat(addon.get(), tmp.c_str(), 0);
        failed("Step \"replace " + addonPath + "/current\" failed: " + errnoText(error));
    }
}

} // namespace

CapabilityCheck requireAllowedCapabilities(const Config& config, const std::vector<std::string>& capabilities)
{
    auto check = checkCapabilities(capabilities, config.capsAllowlist);
    if (check.unknown)
    {
        invalid("Argument capabilities: \"" + *check.unknown + "\" is not a capability this system knows.");
    }
    if (check.notAllowed)
    {
        auto allowed = join(config.capsAllowlist, ", ");
        throw sdbus::Error(names::error::capabilityNotAllowed, "Capability " + *check.notAllowed +
                                                                   " is not in the allowlist (" + allowed +
                                                                   "); nothing was changed.");
    }
    return check;
}

void applyCaps(const Config& config, const ApplyCapsRequest& request)
{
    auto check = requireAllowedCapabilities(config, request.capabilities);
    uid_t owner = ownerUid(config.ownerUser);
    UniqueFd root = openRoot(config.addonsRoot);
    if (!root)
    {
        failed("The add-ons root " + config.addonsRoot + " cannot be opened: " + errnoText(errno));
    }
    auto addonPath = config.addonsRoot + "/" + request.addon;
    auto relative = request.addon + "/versions/" + request.version + "/" + request.binary;
    auto shown = config.addonsRoot + "/" + relative;
    UniqueFd fd = openBinary(root.get(), relative, shown);
    checkBinary(fd.get(), shown, owner, config.ownerUser);

    auto oldXattr = readCapabilityXattr(fd.get());
    auto oldText = currentCapabilityText(fd.get());
    setCapabilities(fd.get(), check.values);
    if (request.activate)
    {
        try
        {
            activate(root.get(), request, addonPath);
        }
        catch (const sdbus::Error& e)
        {
            restoreCapabilityXattr(fd.get(), oldXattr);
            throw sdbus::Error(e.getName(), "Activation failed, and the binary's previous capabilities were "
                                            "restored. " +
                                                e.getMessage());
        }
    }
    auto newText = capabilityText(check.names);
    log::notice("Capabilities of " + shown + " set to \"" + newText + "\" (were \"" + oldText + "\")" +
                    (request.activate ? "; " + request.version + " activated" : ""),
                {{"MESSAGE_ID", names::messageId::capsApplied},
                 {"LEFT4ME_ADDON", request.addon},
                 {"LEFT4ME_VERSION", request.version},
                 {"LEFT4ME_BINARY", shown},
                 {"LEFT4ME_CAPS_OLD", oldText},
                 {"LEFT4ME_CAPS_NEW", newText},
                 {"LEFT4ME_ACTIVATED", request.activate ? "1" : "0"},
                 {"LEFT4ME_CALLER_UID", std::to_string(request.caller)}});
}

} // namespace left4me

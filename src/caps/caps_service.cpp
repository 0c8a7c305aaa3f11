#include "caps/caps_service.hpp"

#include "addons/addon_files.hpp"
#include "caps/caps_intent.hpp"
#include "fs/directory.hpp"
#include "fs/file_write.hpp"
#include "fs/resolve.hpp"
#include "ops/message_ids.hpp"
#include "ops/op_error.hpp"
#include "util/join.hpp"
#include "util/log.hpp"
#include "util/printable.hpp"

#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace left4me {

namespace {

constexpr const char* xattrName = "security.capability";

[[noreturn]] void failed(const std::string& message)
{
    throw OpError(ErrorKind::failed, message);
}

std::string errnoText(int error)
{
    return std::strerror(error);
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

// What carries capabilities must be writable by root alone. A binary the
// owner user may write keeps its capabilities when rewritten through a
// shared writable mapping (only write() clears them), and a mapping or
// writable fd opened before any chown would outlive it. So the
// capabilities go on a copy: a new file, root's from its first moment
// (mode 0 until it is complete, so nobody else ever opens it), with the
// source's contents read through the checked fd, its group and its read
// and execute bits, no write bits. It is created under TMP_NAME beside the
// binary; the caller renames it over the binary.
UniqueFd rootOwnedCopy(int dirFd, int source, const struct stat& st, const std::string& tmpName,
                       const std::string& shown)
{
    UniqueFd copy(::openat(dirFd, tmpName.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!copy)
    {
        failed("Step \"copy the binary\" failed: cannot create a file beside " + shown + ": " + errnoText(errno) +
               "; nothing was changed.");
    }
    auto fail = [&](const std::string& step) {
        int error = errno;
        (void)::unlinkat(dirFd, tmpName.c_str(), 0);
        failed("Step \"" + step + "\" failed: " + errnoText(error) + "; nothing was changed.");
    };
    off_t in = 0;
    std::array<char, 65536> buffer{};
    for (;;)
    {
        ssize_t n = ::pread(source, buffer.data(), buffer.size(), in);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            fail("copy the binary");
        }
        if (n == 0)
        {
            break;
        }
        for (ssize_t done = 0; done < n;)
        {
            ssize_t w = ::write(copy.get(), buffer.data() + done, static_cast<std::size_t>(n - done));
            if (w < 0 && errno != EINTR)
            {
                fail("copy the binary");
            }
            done += std::max<ssize_t>(w, 0);
        }
        in += n;
    }
    if (::fchown(copy.get(), 0, st.st_gid) != 0 || ::fchmod(copy.get(), st.st_mode & 0555) != 0)
    {
        fail("make the copy root's and read-only");
    }
    if (::fsync(copy.get()) != 0)
    {
        fail("write the copy to disk");
    }
    return copy;
}

UniqueFd openAddon(int rootFd, const std::string& addon)
{
    UniqueFd dir = openBeneath(rootFd, addon, O_PATH | O_DIRECTORY);
    if (!dir)
    {
        failed("Step \"open the add-on directory\" failed: " + errnoText(errno));
    }
    return dir;
}

// Where <addon>/current points; nullopt when there is none.
std::optional<std::string> readCurrent(int addonFd, const std::string& addonPath)
{
    std::string target(4096, '\0');
    auto n = ::readlinkat(addonFd, "current", target.data(), target.size());
    if (n < 0)
    {
        if (errno == ENOENT)
        {
            return std::nullopt;
        }
        failed("Step \"read " + addonPath + "/current\" failed: " +
               (errno == EINVAL ? std::string("it exists and is not a symlink") : errnoText(errno)));
    }
    target.resize(static_cast<std::size_t>(n));
    return target;
}

constexpr std::string_view tmpLinkPrefix = ".current.tmp.";

// Points <addon>/current at versions/<version> with a rename over the old
// link, so a reader sees the old target or the new one, never none.
void activate(int addonFd, const ApplyCapsRequest& request, const std::string& addonPath)
{
    static std::atomic<unsigned> counter{0};
    auto tmp = std::string(tmpLinkPrefix) + std::to_string(::getpid()) + "." + std::to_string(counter++);
    auto target = "versions/" + request.version;
    if (::symlinkat(target.c_str(), addonFd, tmp.c_str()) != 0)
    {
        failed("Step \"create the new current link\" failed: " + errnoText(errno));
    }
    if (::renameat(addonFd, tmp.c_str(), addonFd, "current") != 0)
    {
        int error = errno;
        (void)::unlinkat(addonFd, tmp.c_str(), 0);
        failed("Step \"replace " + addonPath + "/current\" failed: " + errnoText(error));
    }
}

// Removes the temporary links an interrupted activate() left behind.
void removeTmpLinks(int addonFd)
{
    for (const auto& name : directoryEntries(addonFd))
    {
        if (std::string_view(name).substr(0, tmpLinkPrefix.size()) == tmpLinkPrefix)
        {
            (void)::unlinkat(addonFd, name.c_str(), 0);
        }
    }
}

} // namespace

CapsService::CapsService(const Config& config, std::string intentDir)
    : config_(config), intentDir_(std::move(intentDir))
{
}

std::string CapsService::intentPath(const std::string& addon) const
{
    return intentDir_ + "/" + addon + ".json";
}

void CapsService::apply(const ApplyCapsRequest& request, const Reply<Done>& reply) const
{
    const auto& config = config_;
    const auto& check = request.capabilities;
    uid_t owner = ownerUid(config.ownerUser);
    UniqueFd root = openAddonsRoot(config.addonsRoot);
    auto addonPath = config.addonsRoot + "/" + request.addon;
    auto relative = request.addon + "/versions/" + request.version + "/" + request.binary;
    auto shown = config.addonsRoot + "/" + relative;
    auto slash = relative.rfind('/');
    auto name = relative.substr(slash + 1);
    UniqueFd dir = openAddonDirectory(root.get(), relative.substr(0, slash), "binary", shown);
    UniqueFd fd = openAddonFile(dir.get(), name, "binary", shown);
    // Its device and inode identify the binary in the intent.
    auto st = checkAddonFile(fd.get(), "binary", shown, owner, config.ownerUser);
    auto oldXattr = readCapabilityXattr(fd.get());
    auto oldText = currentCapabilityText(fd.get());
    UniqueFd addon;
    std::optional<std::string> oldCurrent;
    if (request.activate)
    {
        addon = openAddon(root.get(), request.addon);
        try
        {
            oldCurrent = readCurrent(addon.get(), addonPath);
        }
        catch (const OpError& e)
        {
            throw OpError(e.kind(), e.message() + "; nothing was changed.");
        }
    }

    // Everything is checked. The copy is invisible to anyone but root until
    // it is renamed over the binary, which is one step: the binary is the
    // old file or the capable copy, never a mix.
    static std::atomic<unsigned> counter{0};
    auto tmpName = capsTmpPrefix(request.binary) + std::to_string(::getpid()) + "." + std::to_string(counter++);
    UniqueFd copy = rootOwnedCopy(dir.get(), fd.get(), st, tmpName, shown);
    struct stat copied
    {
    };
    (void)::fstat(copy.get(), &copied);
    auto undoCopy = [&] { (void)::unlinkat(dir.get(), tmpName.c_str(), 0); };
    try
    {
        setCapabilities(copy.get(), check.values);
    }
    catch (const OpError& e)
    {
        undoCopy();
        throw OpError(e.kind(), e.message() + "; nothing was changed.");
    }
    // The next daemon finishes or undoes what this one leaves half done.
    CapsIntent intent{request.addon, request.version, request.binary,   copied.st_dev, copied.st_ino,
                      oldXattr,      oldCurrent,      request.activate, tmpName};
    try
    {
        std::filesystem::create_directories(intentDir_);
        replaceFile(intentPath(request.addon), toJson(intent), 0600);
    }
    catch (const std::exception& e)
    {
        undoCopy();
        failed(std::string("Cannot record the call, so nothing was changed: ") + e.what());
    }
    auto forgetIntent = [&] { (void)::unlink(intentPath(request.addon).c_str()); };
    if (::renameat(dir.get(), tmpName.c_str(), dir.get(), name.c_str()) != 0)
    {
        int error = errno;
        undoCopy();
        forgetIntent();
        failed("Step \"replace " + shown + " with its capable copy\" failed: " + errnoText(error) +
               "; nothing was changed.");
    }
    // The directory is the owner's, who may rename entries in it at any
    // time: make sure the binary is our copy, or leave no capable file.
    struct stat now
    {
    };
    if (::fstatat(dir.get(), name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 || now.st_dev != copied.st_dev ||
        now.st_ino != copied.st_ino)
    {
        restoreCapabilityXattr(copy.get(), std::nullopt);
        forgetIntent();
        failed("Argument binary: " + shown + " was replaced while ApplyCaps ran; run it again.");
    }
    if (request.activate)
    {
        try
        {
            activate(addon.get(), request, addonPath);
        }
        catch (const OpError& e)
        {
            restoreCapabilityXattr(copy.get(), oldXattr);
            forgetIntent();
            throw OpError(e.kind(),
                          "Activation failed, and the binary's previous capabilities were restored. " + e.message());
        }
    }
    forgetIntent();
    auto newText = capabilityText(check.names);
    log::notice("Capabilities of " + shown + " set to \"" + newText + "\" (were \"" + oldText + "\")" +
                    (request.activate ? "; " + request.version + " activated" : ""),
                {{"MESSAGE_ID", messageId::capsApplied},
                 {"LEFT4ME_ADDON", request.addon},
                 {"LEFT4ME_VERSION", request.version},
                 {"LEFT4ME_BINARY", shown},
                 {"LEFT4ME_CAPS_OLD", oldText},
                 {"LEFT4ME_CAPS_NEW", newText},
                 {"LEFT4ME_ACTIVATED", request.activate ? "1" : "0"},
                 {"LEFT4ME_CALLER_UID", std::to_string(request.caller)}});
    reply(Done{});
}

} // namespace left4me

namespace left4me {

void CapsService::recover() const
{
    for (const auto& [path, text] : readJsonFiles(intentDir_))
    {
        auto intent = capsIntentFromJson(text);
        if (!intent)
        {
            log::warning("Ignoring the unreadable ApplyCaps intent " + path.string());
        }
        else
        {
            try
            {
                settle(*intent);
            }
            catch (const std::exception& e)
            {
                log::error("Cannot settle the interrupted ApplyCaps of " + intent->addon + " " + intent->version +
                               ": " + e.what(),
                           {{"LEFT4ME_ADDON", intent->addon}, {"LEFT4ME_VERSION", intent->version}});
            }
        }
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
}

void CapsService::settle(const CapsIntent& intent) const
{
    auto addonPath = config_.addonsRoot + "/" + intent.addon;
    auto relative = intent.addon + "/versions/" + intent.version + "/" + intent.binary;
    auto shown = config_.addonsRoot + "/" + relative;
    auto report = [&](int priority, const std::string& message) {
        log::write(priority, message,
                   {{"LEFT4ME_ADDON", intent.addon}, {"LEFT4ME_VERSION", intent.version}, {"LEFT4ME_BINARY", shown}});
    };
    UniqueFd root = openAddonsRoot(config_.addonsRoot);
    auto slash = relative.rfind('/');
    UniqueFd dir = openAddonDirectory(root.get(), relative.substr(0, slash), "binary", shown);
    if (!intent.tmpName.empty() && ::unlinkat(dir.get(), intent.tmpName.c_str(), 0) == 0)
    {
        report(LOG_NOTICE, "Removed the copy an interrupted ApplyCaps of " + shown + " left beside it");
    }
    UniqueFd addon = openAddon(root.get(), intent.addon);
    if (intent.activate)
    {
        removeTmpLinks(addon.get());
        auto target = "versions/" + intent.version;
        auto current = readCurrent(addon.get(), addonPath);
        if (current == target && intent.oldCurrent != target)
        {
            // The rename happened: only the intent's removal was lost.
            report(LOG_NOTICE, "The interrupted ApplyCaps of " + shown + " had activated " + intent.version + "; kept");
            return;
        }
    }
    UniqueFd fd = openAddonFile(dir.get(), relative.substr(slash + 1), "binary", shown);
    struct stat st
    {
    };
    if (::fstat(fd.get(), &st) != 0 || st.st_dev != intent.device || st.st_ino != intent.inode)
    {
        report(LOG_NOTICE, "The interrupted ApplyCaps of " + shown +
                               " had not put its capable copy in place (or the binary was replaced since); "
                               "left as it is");
        return;
    }
    if (!intent.activate)
    {
        report(LOG_NOTICE, "The interrupted ApplyCaps of " + shown + " had completed; kept");
        return;
    }
    restoreCapabilityXattr(fd.get(), intent.oldXattr);
    report(LOG_NOTICE, "The daemon stopped during ApplyCaps of " + shown + " before " + intent.version +
                           " was activated; its previous capabilities were restored");
}

} // namespace left4me

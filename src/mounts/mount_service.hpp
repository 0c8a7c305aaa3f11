#pragma once

#include "loop/glib_source.hpp"
#include "mounts/mount_record.hpp"
#include "mounts/mount_request.hpp"
#include "ops/reply.hpp"
#include "systemd/systemd.hpp"
#include "systemd/unit_files.hpp"
#include "util/config.hpp"

#include <sys/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace left4me {

struct MountPaths
{
    std::string stateDir;   // mounts/<instance>.json
    std::string runtimeDir; // empty/: the second lower layer of a one-layer read-only mount
    std::string unitDir;    // where persistent mount units are written
};

// Mounts overlayfs for game-server instances as systemd mount units, so that
// the mount lives in PID 1's namespace, shows in systemctl, and can be named
// by RequiresMountsFor=. The operation layer behind Mount and Unmount.
class MountService
{
  public:
    MountService(const Config& config, MountPaths paths, Systemd& systemd);

    // Checks everything that can be checked before a side effect and throws
    // OpError for it; then mounts and answers REPLY with the merged path.
    void mount(const MountRequest& request, Reply<std::string> reply);
    void unmount(const UnmountRequest& request, const Reply<Done>& reply);

    // Settles every record left by an earlier daemon: a mounted unit is
    // kept, one still starting is waited for, and any other is forgotten
    // (a persistent one with its unit file). Records are written before a
    // mount starts, so this also cleans up after a daemon killed mid-Mount.
    void recover();

    [[nodiscard]] const std::map<std::string, MountRecord>& records() const { return records_; }
    [[nodiscard]] bool busy() const { return !inFlight_.empty(); }
    // Told when an instance is mounted or unmounted.
    void onChanged(std::function<void(const std::string& instance)> hook) { changed_ = std::move(hook); }

  private:
    struct Pending;
    void startTransient(const std::shared_ptr<Pending>& pending);
    void startPersistent(const std::shared_ptr<Pending>& pending);
    void onStartQueued(const std::shared_ptr<Pending>& pending, const SystemdError* error, const std::string& job);
    void finishMount(const std::shared_ptr<Pending>& pending, const std::string& jobResult);
    // Drops INSTANCE's record, its unit's failed state and (PERSISTENT) its
    // unit file, tells the bus object, then runs THEN.
    void forget(const std::string& instance, const std::string& unit, bool persistent,
                const std::function<void()>& then);
    void finishUnmount(const MountRecord& record, const Reply<Done>& reply);
    void settle(const MountRecord& record, unsigned attempt);

    const Config& config_;
    MountPaths paths_;
    Systemd& systemd_;
    UnitFiles unitFiles_; // persistent mounts' units
    std::map<std::string, MountRecord> records_;
    std::set<std::string> inFlight_;
    // recover()'s second looks at units still starting, by instance.
    std::map<std::string, GlibSource> settleRetries_;
    std::function<void(const std::string&)> changed_;
};

// The pids whose working directory, root, executable or open files lie at
// or below WHERE. Reads /proc; processes that vanish meanwhile are skipped.
std::vector<pid_t> processesUsing(const std::string& where);

} // namespace left4me

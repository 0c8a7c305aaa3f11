#pragma once

#include "mounts/mount_record.hpp"
#include "systemd/systemd_client.hpp"
#include "util/config.hpp"
#include "loop/glib_source.hpp"

#include <sdbus-c++/Error.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace left4me {

struct MountRequest
{
    std::string instance;
    std::vector<std::string> layers; // topmost first
    bool readOnly = false;
    bool persistent = false;
    uid_t caller = 0;
};

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
    using Mounted = std::function<void(const sdbus::Error* error, const std::string& where)>;
    using Done = std::function<void(const sdbus::Error* error)>;

    MountService(const Config& config, MountPaths paths, SystemdClient& systemd);

    // Checks everything that can be checked before a side effect and throws
    // sdbus::Error for it; then mounts and calls DONE.
    void mount(const MountRequest& request, Mounted done);
    void unmount(const std::string& instance, const Done& done);

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
    void onStartQueued(const std::shared_ptr<Pending>& pending, const sdbus::Error* error, const std::string& job);
    void finishMount(const std::shared_ptr<Pending>& pending, const std::string& jobResult);
    void removePersistentUnit(const std::string& unit, std::function<void()> then);
    void finishUnmount(const MountRecord& record, const Done& done);
    void settle(const MountRecord& record, unsigned attempt);

    const Config& config_;
    MountPaths paths_;
    SystemdClient& systemd_;
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

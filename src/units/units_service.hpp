#pragma once

#include "ops/reply.hpp"
#include "systemd/systemd.hpp"
#include "systemd/unit_files.hpp"
#include "units/units_record.hpp"
#include "units/units_request.hpp"
#include "util/config.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace left4me {

struct UnitsPaths
{
    std::string stateDir; // addon-units/: <addon>.json records, <addon>.intent.json
    std::string unitDir;  // where the units are installed (/etc/systemd/system)
    std::string stageDir; // where systemd loads copies to be checked (/run/systemd/system)
};

// InstallUnits and RemoveUnits: an add-on's own systemd units, taken from
// its version's units/ directory, judged by what systemd makes of them,
// and installed, enabled and started as one step that is undone, whole, on
// any failure or after a crash. The operation layer behind both methods.
// One step of an install, a removal or a rollback: it calls NEXT with
// nullopt, or with what failed, which ends the sequence.
using StepDone = std::function<void(std::optional<std::string> failure)>;
using UnitsStep = std::function<void(StepDone next)>;

class UnitsService
{
  public:
    UnitsService(const Config& config, UnitsPaths paths, Systemd& systemd);

    // Checks everything that can be checked at once (the files, through
    // their fds) and throws OpError for it; then lets systemd load copies
    // of them under names of their own, refuses a unit that would run as
    // root or reach beyond the add-on (UnitNotAllowed), and installs the
    // units in place of the add-on's previous ones. REPLY gets Done, or the
    // failed step with the previous units back.
    void install(const InstallUnitsRequest& request, const Reply<Done>& reply);
    // Stops, disables and removes the add-on's units. Idempotent; an add-on
    // that neither has units nor exists under addons_root is NoSuchAddon.
    void remove(const RemoveUnitsRequest& request, const Reply<Done>& reply);

    // Puts back the units of every call an earlier daemon left unfinished.
    void recover();

    [[nodiscard]] const std::map<std::string, AddonUnitsRecord>& records() const { return records_; }
    [[nodiscard]] bool busy() const { return !inFlight_.empty(); }
    // Told when an add-on's installed units change.
    void onChanged(std::function<void(const std::string& addon)> hook) { changed_ = std::move(hook); }

  private:
    struct Install;
    // The files of REQUEST, read through checked fds: unit -> bytes.
    std::map<std::string, std::string> readUnitFiles(const InstallUnitsRequest& request) const;
    void check(const std::shared_ptr<Install>& run);
    void judge(const std::shared_ptr<Install>& run);
    void apply(const std::shared_ptr<Install>& run);
    void finish(const std::shared_ptr<Install>& run);
    // Brings back what INTENT recorded, then runs THEN.
    void restore(const UnitsIntent& intent, std::function<void()> then);
    // Runs START (StopUnit, RestartUnit, ...) on each of UNITS and waits
    // for every job; THEN gets each unit whose job did not end "done".
    void runJobs(const std::vector<std::string>& units, void (Systemd::*start)(const std::string&, Systemd::Queued),
                 std::function<void(std::map<std::string, std::string> failed)> then);
    // Steps that install, remove and restore share: disable UNITS, whatever
    // each answers; stop UNITS, ending the sequence at the first failure,
    // or, given REPORT, reporting each failure and going on.
    UnitsStep disabling(std::vector<std::string> units);
    UnitsStep stopping(std::vector<std::string> units, std::function<void(const std::string&)> report = {});
    [[nodiscard]] std::string intentPath(const std::string& addon) const;
    [[nodiscard]] std::string recordPath(const std::string& addon) const;
    void saveIntent(const UnitsIntent& intent) const;
    void settled(const std::string& addon);

    const Config& config_;
    UnitsPaths paths_;
    Systemd& systemd_;
    UnitFiles installed_; // in unitDir
    std::map<std::string, AddonUnitsRecord> records_;
    std::set<std::string> inFlight_; // add-ons with a call under way
    std::function<void(const std::string&)> changed_;
};

} // namespace left4me

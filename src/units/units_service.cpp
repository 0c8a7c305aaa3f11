#include "units/units_service.hpp"

#include "addons/addon_files.hpp"
#include "fs/directory.hpp"
#include "fs/file_write.hpp"
#include "fs/resolve.hpp"
#include "ops/message_ids.hpp"
#include "ops/op_error.hpp"
#include "units/exposure.hpp"
#include "units/unit_policy.hpp"
#include "util/join.hpp"
#include "util/log.hpp"
#include "util/users.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace left4me {

namespace fs = std::filesystem;

namespace {

// "VERB UNIT failed (WHY)": how a step names what went wrong, in the error
// and in the journal.
std::string stepFailed(std::string_view verb, const std::string& unit, const std::string& why)
{
    std::string text(verb);
    text += ' ';
    text += unit;
    text += " failed (";
    text += why;
    text += ')';
    return text;
}

// A unit file is configuration, not a payload.
constexpr std::size_t maxUnitFileBytes = std::size_t{64} * 1024;

// The copies systemd loads to be judged are named this, then a number of
// their own, then the unit's name: nothing else on the host is.
constexpr std::string_view stagePrefix = "left4me-check-";

std::string readAll(int fd, const std::string& shown)
{
    std::string bytes;
    std::array<char, 8192> buffer{};
    for (;;)
    {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            throw OpError(ErrorKind::failed, "Cannot read " + shown + ": " + std::strerror(errno));
        }
        if (n == 0)
        {
            return bytes;
        }
        bytes.append(buffer.data(), static_cast<std::size_t>(n));
        if (bytes.size() > maxUnitFileBytes)
        {
            throw OpError(ErrorKind::invalidArgument, "Argument units: " + shown + " is larger than " +
                                                          std::to_string(maxUnitFileBytes / 1024) +
                                                          " KiB; a unit file is not.");
        }
    }
}

std::string fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool running(const std::string& activeState)
{
    return activeState == "active" || activeState == "activating" || activeState == "reloading";
}

std::vector<std::string> without(const std::vector<std::string>& all, const std::vector<std::string>& taken)
{
    std::vector<std::string> rest;
    std::copy_if(all.begin(), all.end(), std::back_inserter(rest),
                 [&](const std::string& unit) { return std::find(taken.begin(), taken.end(), unit) == taken.end(); });
    return rest;
}

// Runs each STEP in turn: a step gets the continuation it calls with
// nullopt, or with what failed, which ends the sequence at DONE.
using Next = StepDone;
using Step = UnitsStep;

void runSteps(const std::shared_ptr<std::vector<Step>>& steps, std::size_t at, const Next& done)
{
    if (at == steps->size())
    {
        return done(std::nullopt);
    }
    (*steps)[at]([steps, at, done](const std::optional<std::string>& failure) {
        if (failure)
        {
            return done(failure);
        }
        runSteps(steps, at + 1, done);
    });
}

void runSteps(std::vector<Step> steps, const Next& done)
{
    runSteps(std::make_shared<std::vector<Step>>(std::move(steps)), 0, done);
}

// Calls EACH for every one of ITEMS, all at once, and DONE once all have
// answered (at once if there are none).
template <typename Each>
void forAll(const std::vector<std::string>& items, Each each, const std::function<void()>& done)
{
    if (items.empty())
    {
        return done();
    }
    auto left = std::make_shared<std::size_t>(items.size());
    for (const auto& item : items)
    {
        each(item, [left, done] {
            if (--*left == 0)
            {
                done();
            }
        });
    }
}

} // namespace

struct UnitsService::Install
{
    InstallUnitsRequest request;
    Reply<Done> reply;
    std::map<std::string, std::string> files;  // unit -> bytes, as read through the checked fd
    std::map<std::string, std::string> staged; // unit -> the name of its copy
    std::map<std::string, UnitFacts> copies;   // unit -> what systemd made of its copy
    std::map<std::string, UnitFacts> current;  // unit -> what systemd has under its name now
    // unit -> what enabling its copy did, or why systemd would not
    std::map<std::string, std::vector<UnitFileChange>> changes;
    std::map<std::string, std::string> enableErrors;
    std::optional<std::string> failure; // a query that failed while checking
    UnitsIntent intent;
};

UnitsService::UnitsService(const Config& config, UnitsPaths paths, Systemd& systemd)
    : config_(config), paths_(std::move(paths)), systemd_(systemd), installed_(systemd, paths_.unitDir)
{
    for (const auto& [path, text] : readJsonFiles(paths_.stateDir))
    {
        if (path.string().find(".intent.") != std::string::npos)
        {
            continue;
        }
        auto record = addonUnitsRecordFromJson(text);
        if (!record || path.stem() != record->addon)
        {
            log::warning("Ignoring an unreadable add-on units record " + path.string());
            continue;
        }
        records_[record->addon] = *record;
    }
}

std::string UnitsService::intentPath(const std::string& addon) const
{
    return paths_.stateDir + "/" + addon + ".intent.json";
}

std::string UnitsService::recordPath(const std::string& addon) const
{
    return paths_.stateDir + "/" + addon + ".json";
}

void UnitsService::saveIntent(const UnitsIntent& intent) const
{
    fs::create_directories(paths_.stateDir);
    replaceFile(intentPath(intent.addon), toJson(intent), 0600);
}

std::map<std::string, std::string> UnitsService::readUnitFiles(const InstallUnitsRequest& request) const
{
    uid_t owner = ownerUid(config_.ownerUser);
    UniqueFd root = openAddonsRoot(config_.addonsRoot);
    auto relative = request.addon + "/versions/" + request.version + "/units";
    UniqueFd dir = openAddonDirectory(root.get(), relative, "units", config_.addonsRoot + "/" + relative);
    std::map<std::string, std::string> files;
    for (const auto& unit : request.units)
    {
        auto shown = (std::filesystem::path(config_.addonsRoot) / relative / unit).string();
        UniqueFd fd = openAddonFile(dir.get(), unit, "units", shown);
        (void)checkAddonFile(fd.get(), "units", shown, owner, config_.ownerUser);
        auto bytes = readAll(fd.get(), shown);
        if (bytes.find('\0') != std::string::npos)
        {
            throw OpError(ErrorKind::invalidArgument, "Argument units: " + shown + " contains a NUL byte.");
        }
        files[unit] = std::move(bytes);
    }
    return files;
}

void UnitsService::install(const InstallUnitsRequest& request, const Reply<Done>& reply)
{
    const auto& addon = request.addon;
    if (inFlight_.count(addon) != 0)
    {
        throw OpError(ErrorKind::busy, "An InstallUnits or RemoveUnits of add-on " + addon +
                                           " is in progress; try again when it has finished.");
    }
    // A unit of the same name under another add-on's record is not ours to
    // replace, whatever its name says.
    for (const auto& [other, record] : records_)
    {
        for (const auto& unit : request.units)
        {
            if (other != addon && std::find(record.units.begin(), record.units.end(), unit) != record.units.end())
            {
                std::string why = "Argument units: " + unit;
                why += " belongs to add-on " + other;
                why += "; nothing was changed.";
                throw OpError(ErrorKind::invalidArgument, why);
            }
        }
    }
    auto run = std::make_shared<Install>();
    run->request = request;
    run->reply = reply;
    run->files = readUnitFiles(request);
    inFlight_.insert(addon);
    check(run);
}

// Lets systemd load a copy of each file under a name of its own, in the
// runtime unit directory: systemd parses it exactly as it will parse the
// installed unit, while nothing is installed and no unit of the add-on,
// old or new, changes. Enabling the copies (at runtime) shows what their
// [Install] sections do; the links go with the copies.
void UnitsService::check(const std::shared_ptr<Install>& run)
{
    static unsigned counter = 0;
    auto tag = std::string(stagePrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-";
    std::vector<std::string> staged;
    auto unstage = [this, run] {
        // Links the copies' [Install] sections made; enabling replaced
        // none, so every one is new.
        for (const auto& [unit, changes] : run->changes)
        {
            for (const auto& change : changes)
            {
                if (change.type == "symlink" && change.path.rfind("/run/", 0) == 0)
                {
                    (void)::unlink(change.path.c_str());
                }
            }
        }
        for (const auto& [unit, copy] : run->staged)
        {
            (void)::unlink((paths_.stageDir + "/" + copy).c_str());
        }
    };
    try
    {
        for (const auto& [unit, bytes] : run->files)
        {
            run->staged[unit] = tag + unit;
            staged.push_back(tag + unit);
            replaceFile((std::filesystem::path(paths_.stageDir) / staged.back()).string(), bytes, 0644);
        }
    }
    catch (const std::exception& e)
    {
        unstage();
        inFlight_.erase(run->request.addon);
        return run->reply(OpError(ErrorKind::failed, std::string("Cannot stage the units to be checked: ") + e.what() +
                                                         "; nothing was changed."));
    }
    systemd_.reload([this, run, staged, unstage](const SystemdError* error) {
        if (error != nullptr)
        {
            unstage();
            inFlight_.erase(run->request.addon);
            return run->reply(
                OpError(ErrorKind::failed, "daemon-reload failed: " + error->message + "; nothing was changed."));
        }
        // What systemd has under each name now: the add-on's previous units,
        // or a unit of someone else's, or nothing.
        std::vector<std::string> names = run->request.units;
        if (auto before = records_.find(run->request.addon); before != records_.end())
        {
            for (const auto& unit : without(before->second.units, names))
            {
                names.push_back(unit);
            }
        }
        forAll(
            names,
            [this, run](const std::string& unit, const std::function<void()>& answered) {
                systemd_.unitFacts(unit, [run, unit, answered](const SystemdError* error, UnitFacts facts) {
                    if (error != nullptr)
                    {
                        run->failure = "reading unit " + unit + " failed: " + error->message;
                    }
                    run->current[unit] = std::move(facts);
                    answered();
                });
            },
            [this, run, staged, unstage] {
                forAll(
                    run->request.units,
                    [this, run](const std::string& unit, const std::function<void()>& answered) {
                        systemd_.unitFacts(run->staged[unit],
                                           [run, unit, answered](const SystemdError* error, UnitFacts facts) {
                                               if (error != nullptr)
                                               {
                                                   run->failure = "loading unit " + unit + " failed: " + error->message;
                                               }
                                               run->copies[unit] = std::move(facts);
                                               answered();
                                           });
                    },
                    [this, run, unstage] {
                        // One at a time, so that each link is the unit's own.
                        forAll(
                            run->request.units,
                            [this, run](const std::string& unit, const std::function<void()>& answered) {
                                systemd_.enableUnitFiles({run->staged[unit]}, true,
                                                         [run, unit, answered](const SystemdError* error,
                                                                               std::vector<UnitFileChange> changes) {
                                                             if (error != nullptr)
                                                             {
                                                                 run->enableErrors[unit] = error->message;
                                                             }
                                                             run->changes[unit] = std::move(changes);
                                                             answered();
                                                         });
                            },
                            [this, run, unstage] {
                                unstage();
                                judge(run);
                            });
                    });
            });
    });
}

void UnitsService::judge(const std::shared_ptr<Install>& run)
{
    const auto& request = run->request;
    std::optional<OpError> refusal;
    if (run->failure)
    {
        refusal = OpError(ErrorKind::failed, *run->failure + "; nothing was changed.");
    }
    UnitPolicy policy;
    auto users = config_.unitUsers.empty() ? std::vector<std::string>{config_.ownerUser} : config_.unitUsers;
    for (const auto& user : users)
    {
        policy.users.insert(user);
        if (auto ids = lookupUser(user))
        {
            if (auto group = groupName(ids->gid))
            {
                policy.groups.insert(*group);
            }
        }
    }
    policy.own.insert(request.units.begin(), request.units.end());
    std::map<std::string, std::string> finalNames;
    for (const auto& [unit, copy] : run->staged)
    {
        finalNames[copy] = unit;
        // A timer's default Unit= is the service of its own name: the copy's.
        auto stem = [](const std::string& name) { return name.substr(0, name.rfind('.')); };
        finalNames[stem(copy) + ".service"] = stem(unit) + ".service";
    }
    policy.finalName = [finalNames](const std::string& name) {
        auto it = finalNames.find(name);
        return it == finalNames.end() ? name : it->second;
    };
    auto record = records_.find(request.addon);
    for (const auto& unit : request.units)
    {
        if (refusal)
        {
            break;
        }
        // Never over a unit file that is not the add-on's own.
        const auto& current = run->current[unit];
        bool ours = record != records_.end() && std::find(record->second.units.begin(), record->second.units.end(),
                                                          unit) != record->second.units.end();
        if (!current.fragmentPath.empty() && !(ours && current.fragmentPath == installed_.path(unit)))
        {
            refusal = OpError(ErrorKind::invalidArgument, "Argument units: a unit " + unit + " exists already (" +
                                                              current.fragmentPath +
                                                              ") and is not this add-on's; nothing was changed.");
        }
        else if (auto why = unitRefusal(unit, run->copies[unit], policy))
        {
            refusal =
                OpError(ErrorKind::unitNotAllowed, "Unit " + unit + " is refused: " + *why + ". Nothing was changed.");
        }
        else if (auto why = settingRefusal(run->files[unit]))
        {
            refusal =
                OpError(ErrorKind::unitNotAllowed, "Unit " + unit + " is refused: " + *why + ". Nothing was changed.");
        }
        else if (auto error = run->enableErrors.find(unit); error != run->enableErrors.end())
        {
            refusal = OpError(ErrorKind::unitNotAllowed, "Unit " + unit +
                                                             " is refused: systemd cannot apply its [Install] "
                                                             "section without replacing a link of another unit (" +
                                                             error->second + "). Nothing was changed.");
        }
        else if (auto why = installRefusal(run->changes[unit], policy))
        {
            refusal =
                OpError(ErrorKind::unitNotAllowed, "Unit " + unit + " is refused: " + *why + ". Nothing was changed.");
        }
    }
    if (refusal)
    {
        // The copies are gone; a reload makes systemd forget them too.
        systemd_.reload([this, run, refusal = *refusal](const SystemdError*) {
            log::notice("InstallUnits of add-on " + run->request.addon + " " + run->request.version +
                            " refused: " + refusal.message(),
                        {{"LEFT4ME_ADDON", run->request.addon}, {"LEFT4ME_VERSION", run->request.version}});
            inFlight_.erase(run->request.addon);
            run->reply(refusal);
        });
        return;
    }
    apply(run);
}

// Replaces the add-on's previous units with the new ones, as steps that
// are each undone if a later one fails: the intent, written first, holds
// all that is needed to put the previous units back, even for a daemon
// started after this one was killed.
void UnitsService::apply(const std::shared_ptr<Install>& run)
{
    const auto& request = run->request;
    auto& intent = run->intent;
    intent.addon = request.addon;
    intent.afterUnits = request.units;
    if (auto before = records_.find(request.addon); before != records_.end())
    {
        intent.before = before->second;
        for (const auto& unit : before->second.units)
        {
            intent.beforeFiles[unit] = fileBytes(installed_.path(unit));
            if (running(run->current[unit].activeState))
            {
                intent.beforeActive.push_back(unit);
            }
        }
    }
    try
    {
        saveIntent(intent);
    }
    catch (const std::exception& e)
    {
        systemd_.reload([](const SystemdError*) {});
        inFlight_.erase(request.addon);
        return run->reply(
            OpError(ErrorKind::failed, std::string("Cannot record the call, so nothing was changed: ") + e.what()));
    }
    std::vector<std::string> beforeUnits = intent.before ? intent.before->units : std::vector<std::string>{};
    std::vector<std::string> beforeEnabled = intent.before ? intent.before->enabled : std::vector<std::string>{};
    auto gone = without(beforeUnits, request.units);
    std::vector<Step> steps;
    steps.emplace_back(disabling(beforeEnabled));
    steps.emplace_back(stopping(gone));
    steps.emplace_back([this, gone](const Next& next) {
        for (const auto& unit : gone)
        {
            std::error_code ignored;
            fs::remove(installed_.path(unit), ignored);
        }
        next(std::nullopt);
    });
    steps.emplace_back([this, run](const Next& next) {
        std::vector<UnitFile> files;
        for (const auto& [unit, bytes] : run->files)
        {
            files.push_back({unit, bytes});
        }
        installed_.install(files, run->request.enable, [next](const UnitFiles::Failure& failure) {
            next(failure ? std::optional<std::string>("installing the units failed: " + *failure) : std::nullopt);
        });
    });
    if (request.now)
    {
        steps.emplace_back([this, run](const Next& next) {
            runJobs(run->request.enable, &Systemd::restartUnit,
                    [next](const std::map<std::string, std::string>& failed) {
                        if (!failed.empty())
                        {
                            const auto& [unit, why] = *failed.begin();
                            return next(stepFailed("starting", unit, why + "; see journalctl -u " + unit));
                        }
                        next(std::nullopt);
                    });
        });
    }
    runSteps(std::move(steps), [this, run](std::optional<std::string> failure) {
        if (!failure)
        {
            return finish(run);
        }
        log::warning("InstallUnits of add-on " + run->request.addon + " " + run->request.version + ": " + *failure +
                         "; putting the previous units back",
                     {{"LEFT4ME_ADDON", run->request.addon}, {"LEFT4ME_VERSION", run->request.version}});
        restore(run->intent, [this, run, failure] {
            settled(run->request.addon);
            run->reply(OpError(ErrorKind::failed, "InstallUnits failed: " + *failure +
                                                      "; the add-on's previous units are back as they were."));
        });
    });
}

void UnitsService::finish(const std::shared_ptr<Install>& run)
{
    const auto& request = run->request;
    AddonUnitsRecord record{request.addon, request.version, request.units, request.enable};
    try
    {
        replaceFile(recordPath(request.addon), toJson(record), 0644);
    }
    catch (const std::exception& e)
    {
        return restore(run->intent, [this, run, what = std::string(e.what())] {
            settled(run->request.addon);
            run->reply(OpError(ErrorKind::failed, "Cannot record the installed units (" + what +
                                                      "); the add-on's previous units are back as they were."));
        });
    }
    records_[request.addon] = record;
    std::error_code ignored;
    fs::remove(intentPath(request.addon), ignored);
    inFlight_.erase(request.addon);
    if (changed_)
    {
        changed_(request.addon);
    }
    log::notice("Installed units " + join(request.units, " ") + " of add-on " + request.addon + " " + request.version +
                    (request.enable.empty() ? "" : "; enabled " + join(request.enable, " ")) +
                    (request.now ? " and started" : ""),
                {{"MESSAGE_ID", messageId::unitsInstalled},
                 {"LEFT4ME_ADDON", request.addon},
                 {"LEFT4ME_VERSION", request.version},
                 {"LEFT4ME_UNITS", join(request.units, " ")},
                 {"LEFT4ME_ENABLED", join(request.enable, " ")},
                 {"LEFT4ME_CALLER_UID", std::to_string(request.caller)}});
    for (const auto& unit : request.units)
    {
        // A timer runs nothing itself: its service is rated.
        if (unit.size() > 8 && unit.compare(unit.size() - 8, 8, ".service") == 0)
        {
            logExposure(installed_.path(unit), unit, request.addon);
        }
    }
    run->reply(Done{});
}

void UnitsService::remove(const RemoveUnitsRequest& request, const Reply<Done>& reply)
{
    const auto& addon = request.addon;
    if (inFlight_.count(addon) != 0)
    {
        throw OpError(ErrorKind::busy, "An InstallUnits or RemoveUnits of add-on " + addon +
                                           " is in progress; try again when it has finished.");
    }
    auto record = records_.find(addon);
    if (record == records_.end())
    {
        UniqueFd root = openAddonsRoot(config_.addonsRoot);
        UniqueFd dir = openBeneath(root.get(), addon, O_PATH | O_DIRECTORY);
        if (!dir)
        {
            throw OpError(ErrorKind::noSuchAddon, "There is no add-on " + addon + ": it has no units installed and " +
                                                      config_.addonsRoot + "/" + addon + " does not exist.");
        }
        return reply(Done{}); // nothing installed: removed already
    }
    UnitsIntent intent{addon, record->second, {}, {}, {}};
    for (const auto& unit : record->second.units)
    {
        intent.beforeFiles[unit] = fileBytes(installed_.path(unit));
    }
    inFlight_.insert(addon);
    auto units = record->second.units;
    auto enabled = record->second.enabled;
    // Which of them run, for a restore to start again.
    auto shared = std::make_shared<UnitsIntent>(std::move(intent));
    forAll(
        units,
        [this, shared](const std::string& unit, const std::function<void()>& answered) {
            systemd_.activeState(unit, [shared, unit, answered](const SystemdError* error, const std::string& state) {
                if (error == nullptr && running(state))
                {
                    shared->beforeActive.push_back(unit);
                }
                answered();
            });
        },
        [this, shared, units, enabled, request, reply] {
            try
            {
                saveIntent(*shared);
            }
            catch (const std::exception& e)
            {
                inFlight_.erase(request.addon);
                return reply(OpError(ErrorKind::failed,
                                     std::string("Cannot record the call, so nothing was changed: ") + e.what()));
            }
            std::vector<Step> steps;
            steps.emplace_back(disabling(enabled));
            steps.emplace_back(stopping(units));
            steps.emplace_back(
                [this, units](const Next& next) { installed_.remove(units, [next] { next(std::nullopt); }); });
            runSteps(std::move(steps), [this, shared, request, reply](const std::optional<std::string>& failure) {
                if (failure)
                {
                    return restore(*shared, [this, request, reply, failure] {
                        settled(request.addon);
                        reply(OpError(ErrorKind::failed, "RemoveUnits failed: " + *failure +
                                                             "; the add-on's units are back as they were."));
                    });
                }
                std::error_code ignored;
                fs::remove(recordPath(request.addon), ignored);
                records_.erase(request.addon);
                fs::remove(intentPath(request.addon), ignored);
                inFlight_.erase(request.addon);
                if (changed_)
                {
                    changed_(request.addon);
                }
                log::notice("Removed units " + join(shared->before->units, " ") + " of add-on " + request.addon,
                            {{"MESSAGE_ID", messageId::unitsRemoved},
                             {"LEFT4ME_ADDON", request.addon},
                             {"LEFT4ME_VERSION", shared->before->version},
                             {"LEFT4ME_UNITS", join(shared->before->units, " ")},
                             {"LEFT4ME_CALLER_UID", std::to_string(request.caller)}});
                reply(Done{});
            });
        });
}

UnitsStep UnitsService::disabling(std::vector<std::string> units)
{
    return [this, units = std::move(units)](const Next& next) {
        forAll(
            units,
            [this](const std::string& unit, const std::function<void()>& answered) {
                systemd_.disableUnitFile(unit, [answered](const SystemdError*) { answered(); });
            },
            [next] { next(std::nullopt); });
    };
}

UnitsStep UnitsService::stopping(std::vector<std::string> units, std::function<void(const std::string&)> report)
{
    return [this, units = std::move(units), report = std::move(report)](const Next& next) {
        runJobs(units, &Systemd::stopUnit, [next, report](const std::map<std::string, std::string>& failed) {
            if (!report && !failed.empty())
            {
                return next(stepFailed("stopping", failed.begin()->first, failed.begin()->second));
            }
            for (const auto& [unit, why] : failed)
            {
                report(stepFailed("stopping", unit, why));
            }
            next(std::nullopt);
        });
    };
}

void UnitsService::runJobs(const std::vector<std::string>& units,
                           void (Systemd::*start)(const std::string&, Systemd::Queued),
                           std::function<void(std::map<std::string, std::string> failed)> then)
{
    auto failed = std::make_shared<std::map<std::string, std::string>>();
    forAll(
        units,
        [this, start, failed](const std::string& unit, const std::function<void()>& answered) {
            (systemd_.*start)(unit, [this, unit, failed, answered](const SystemdError* error, const std::string& job) {
                if (error != nullptr)
                {
                    (*failed)[unit] = error->message;
                    return answered();
                }
                systemd_.whenJobRemoved(job, [this, unit, failed, answered](const std::string& result) {
                    if (result == jobLostResult)
                    {
                        // Its end went unannounced: the unit's state says.
                        return systemd_.activeState(
                            unit, [unit, failed, answered](const SystemdError*, const std::string& state) {
                                (void)state;
                                answered();
                            });
                    }
                    if (result != "done")
                    {
                        (*failed)[unit] = "job " + result;
                    }
                    answered();
                });
            });
        },
        [failed, then = std::move(then)] { then(*failed); });
}

// Disables and stops the units INTENT's call was installing, writes back
// the previous files, enables those that were enabled and starts those that
// ran. Each step goes on whatever the one before met: this is the way back,
// and the journal says what did not come back.
void UnitsService::restore(const UnitsIntent& intent, std::function<void()> then)
{
    auto beforeUnits = intent.before ? intent.before->units : std::vector<std::string>{};
    auto beforeEnabled = intent.before ? intent.before->enabled : std::vector<std::string>{};
    auto added = without(intent.afterUnits, beforeUnits);
    auto stopped = without(beforeUnits, intent.beforeActive);
    auto report = [addon = intent.addon](const std::string& what) {
        log::error("Putting back the units of add-on " + addon + ": " + what, {{"LEFT4ME_ADDON", addon}});
    };
    std::vector<Step> steps;
    steps.emplace_back(disabling(intent.afterUnits));
    steps.emplace_back(stopping(added, report));
    steps.emplace_back([this, added, intent, report](const Next& next) {
        for (const auto& unit : added)
        {
            std::error_code ignored;
            fs::remove(installed_.path(unit), ignored);
        }
        std::vector<UnitFile> files;
        for (const auto& [unit, bytes] : intent.beforeFiles)
        {
            files.push_back({unit, bytes});
        }
        installed_.install(files, intent.before ? intent.before->enabled : std::vector<std::string>{},
                           [next, report](const UnitFiles::Failure& failure) {
                               if (failure)
                               {
                                   report(*failure);
                               }
                               next(std::nullopt);
                           });
    });
    steps.emplace_back(stopping(stopped, report));
    steps.emplace_back([this, intent](const Next& next) {
        // A unit the call started that failed stays "failed" until reset.
        for (const auto& unit : intent.afterUnits)
        {
            systemd_.resetFailedUnit(unit);
        }
        if (intent.before)
        {
            for (const auto& unit : intent.before->units)
            {
                systemd_.resetFailedUnit(unit);
            }
        }
        next(std::nullopt);
    });
    steps.emplace_back([this, active = intent.beforeActive, report](const Next& next) {
        runJobs(active, &Systemd::restartUnit, [next, report](const std::map<std::string, std::string>& failed) {
            for (const auto& [unit, why] : failed)
            {
                report(stepFailed("starting", unit + " again", why));
            }
            next(std::nullopt);
        });
    });
    runSteps(std::move(steps), [this, intent, then = std::move(then)](const std::optional<std::string>&) {
        std::error_code ignored;
        fs::remove(intentPath(intent.addon), ignored);
        log::notice("The units of add-on " + intent.addon + " are back as they were" +
                        (intent.before ? " (version " + intent.before->version + ")" : " (none)"),
                    {{"LEFT4ME_ADDON", intent.addon}});
        then();
    });
}

void UnitsService::settled(const std::string& addon)
{
    inFlight_.erase(addon);
}

void UnitsService::recover()
{
    // Copies a killed check left in the runtime unit directory.
    UniqueFd stage(::open(paths_.stageDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (stage)
    {
        for (const auto& name : directoryEntries(stage.get()))
        {
            if (name.rfind(stagePrefix, 0) == 0)
            {
                (void)::unlinkat(stage.get(), name.c_str(), 0);
            }
        }
    }
    for (const auto& [path, text] : readJsonFiles(paths_.stateDir))
    {
        if (path.string().find(".intent.") == std::string::npos)
        {
            continue;
        }
        auto intent = unitsIntentFromJson(text);
        if (!intent || path.filename() != intent->addon + ".intent.json")
        {
            log::warning("Ignoring the unreadable InstallUnits intent " + path.string());
            continue;
        }
        log::notice("The daemon stopped during InstallUnits or RemoveUnits of add-on " + intent->addon +
                        "; putting its previous units back",
                    {{"LEFT4ME_ADDON", intent->addon}});
        inFlight_.insert(intent->addon);
        restore(*intent, [this, addon = intent->addon] { settled(addon); });
    }
}

} // namespace left4me

#pragma once

// A systemd for the service tests: it keeps units in memory, answers every
// call later (on run(), as the real one answers on the loop, never inside
// the call), records what it was asked, and lets a test say what happens
// to a unit: it starts, it ends with an outcome, a job is removed or lost.
#include "systemd/systemd.hpp"

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace left4me::test {

class FakeSystemd final : public Systemd
{
  public:
    struct Unit
    {
        std::string activeState = "inactive";
        ServiceOutcome outcome;
        ServiceUser user;
        std::vector<net::IpPrefix> allow;
        std::vector<UnitProperty> properties; // as set, in order
        bool loaded = true;                   // false: NoSuchUnit for the queries
        int refs = 0;
        UnitFacts facts;                      // what unitFacts() answers (its activeState is this unit's)
        std::vector<UnitFileChange> installs; // what enabling it makes
        bool enabled = false;
    };

    std::map<std::string, Unit> units;
    // "Method unit" for each call, in order.
    std::vector<std::string> calls;
    // The next call of a method answers this error (once).
    std::map<std::string, SystemdError> failures;
    // StartUnit and StartTransientUnit: the start job ends "done" and the
    // unit is active (with user and outcome as set). False: the test ends
    // the job itself (removeJob).
    bool startsComplete = true;
    // StopUnit: the unit ends (inactive, or failed if its outcome is not a
    // success) and the stop job is removed.
    bool stopsComplete = true;

    // Delivers every answer and signal due, including those they cause.
    void run()
    {
        while (!due_.empty())
        {
            auto next = std::move(due_.front());
            due_.pop_front();
            next();
        }
    }

    // The unit's ActiveState changes, as PropertiesChanged announces it.
    void setState(const std::string& unit, const std::string& state)
    {
        units[unit].activeState = state;
        later([this, unit, state] {
            auto watches = watches_[unit]; // a watcher may end its own watch
            for (auto& [id, watch] : watches)
            {
                if (watches_[unit].count(id) != 0)
                {
                    watch(state);
                }
            }
        });
    }
    // The unit ends with OUTCOME.
    void end(const std::string& unit, ServiceOutcome outcome)
    {
        units[unit].outcome = std::move(outcome);
        setState(unit, units[unit].outcome.result == "success" ? "inactive" : "failed");
    }
    // JobRemoved for JOB, with RESULT ("done", "failed", "canceled", ...).
    void removeJob(const std::string& job, const std::string& result)
    {
        later([this, job, result] {
            if (auto waiter = jobWaiters_.find(job); waiter != jobWaiters_.end())
            {
                auto done = std::move(waiter->second);
                jobWaiters_.erase(waiter);
                done(result);
                return;
            }
            removedJobs_[job] = result;
        });
    }
    [[nodiscard]] bool awaited(const std::string& job) const { return jobWaiters_.count(job) != 0; }
    [[nodiscard]] std::string lastJob() const { return lastJob_; }
    [[nodiscard]] int count(const std::string& call) const
    {
        int n = 0;
        for (const auto& c : calls)
        {
            n += c == call ? 1 : 0;
        }
        return n;
    }

    void refUnit(const std::string& unit, Done done) override
    {
        answer("RefUnit", unit, std::move(done), [this, unit] { ++units[unit].refs; });
    }
    void unrefUnit(const std::string& unit) override
    {
        calls.push_back("UnrefUnit " + unit);
        --units[unit].refs;
    }
    void setUnitProperties(const std::string& unit, const std::vector<UnitProperty>& properties, Done done) override
    {
        answer("SetUnitProperties", unit, std::move(done), [this, unit, properties] {
            auto& set = units[unit].properties;
            set.insert(set.end(), properties.begin(), properties.end());
        });
    }
    void startUnit(const std::string& unit, Queued done) override { start("StartUnit", unit, std::move(done)); }
    void startUnitFailing(const std::string& unit, Queued done) override
    {
        start("StartUnitFailing", unit, std::move(done));
    }
    void startTransientUnit(const std::string& unit, const std::vector<UnitProperty>& properties, Queued done) override
    {
        units[unit].properties = properties;
        start("StartTransientUnit", unit, std::move(done));
    }
    void stopUnit(const std::string& unit, Queued done) override
    {
        calls.push_back("StopUnit " + unit);
        if (auto error = failure("StopUnit"))
        {
            return later([done, error] { done(&*error, {}); });
        }
        auto job = newJob();
        later([done, job] { done(nullptr, job); });
        if (stopsComplete)
        {
            auto outcome = units[unit].outcome;
            later([this, unit, job, outcome] {
                end(unit, outcome);
                removeJob(job, "done");
            });
        }
    }
    void whenJobRemoved(const std::string& jobPath, std::function<void(std::string)> done) override
    {
        if (auto removed = removedJobs_.find(jobPath); removed != removedJobs_.end())
        {
            auto result = removed->second;
            removedJobs_.erase(removed);
            return later([done, result] { done(result); });
        }
        jobWaiters_[jobPath] = std::move(done);
    }
    void resetFailedUnit(const std::string& unit) override { calls.push_back("ResetFailedUnit " + unit); }
    void reload(Done done) override
    {
        answer("Reload", "", std::move(done), [] {});
    }
    void enableUnitFile(const std::string& unit, Done done) override
    {
        answer("EnableUnitFiles", unit, std::move(done), [this, unit] { units[unit].enabled = true; });
    }
    void disableUnitFile(const std::string& unit, Done done) override
    {
        answer("DisableUnitFiles", unit, std::move(done), [this, unit] { units[unit].enabled = false; });
    }
    void enableUnitFiles(const std::vector<std::string>& names, bool runtime,
                         std::function<void(const SystemdError*, std::vector<UnitFileChange>)> done) override
    {
        std::vector<UnitFileChange> changes;
        auto error = failure("EnableUnitFiles");
        for (const auto& unit : names)
        {
            calls.push_back(std::string(runtime ? "EnableUnitFilesRuntime " : "EnableUnitFiles ") + unit);
            auto& u = units[unit];
            // As systemd: enabling an enabled unit again links nothing.
            if (!(u.enabled && !runtime))
            {
                changes.insert(changes.end(), u.installs.begin(), u.installs.end());
            }
            u.enabled = u.enabled || (!runtime && !error);
        }
        later([done, error, changes] { error ? done(&*error, {}) : done(nullptr, changes); });
    }
    void restartUnit(const std::string& unit, Queued done) override { start("RestartUnit", unit, std::move(done)); }
    void unitFacts(const std::string& unit, std::function<void(const SystemdError*, UnitFacts)> done) override
    {
        query("LoadUnit", unit, [this, unit, done] {
            auto facts = units[unit].facts;
            facts.activeState = units[unit].activeState;
            if (facts.id.empty())
            {
                facts.id = unit;
            }
            if (facts.loadState.empty())
            {
                facts.loadState = units[unit].loaded ? "loaded" : "not-found";
            }
            if (facts.unitFileState.empty())
            {
                facts.unitFileState = units[unit].enabled ? "enabled" : "disabled";
            }
            done(nullptr, facts);
        });
    }
    void unitFileLinks(const std::string& unit,
                       std::function<void(const SystemdError*, std::vector<std::string>)> done) override
    {
        query("GetUnitFileLinks", unit, [this, unit, done] {
            std::vector<std::string> paths;
            for (const auto& change : units[unit].enabled ? units[unit].installs : std::vector<UnitFileChange>{})
            {
                paths.push_back(change.path);
            }
            done(nullptr, paths);
        });
    }
    void serviceOutcome(const std::string& unit, std::function<void(const SystemdError*, ServiceOutcome)> done) override
    {
        query("GetOutcome", unit, [this, unit, done] {
            if (auto error = unknown(unit))
            {
                return done(&*error, {});
            }
            done(nullptr, units[unit].outcome);
        });
    }
    void serviceUser(const std::string& unit, std::function<void(const SystemdError*, ServiceUser)> done) override
    {
        query("GetUser", unit, [this, unit, done] {
            if (auto error = unknown(unit))
            {
                return done(&*error, {});
            }
            done(nullptr, units[unit].user);
        });
    }
    void addressAllow(const std::string& unit,
                      std::function<void(const SystemdError*, std::vector<net::IpPrefix>)> done) override
    {
        query("GetIPAddressAllow", unit, [this, unit, done] { done(nullptr, units[unit].allow); });
    }
    void activeState(const std::string& unit, std::function<void(const SystemdError*, std::string)> done) override
    {
        query("GetActiveState", unit, [this, unit, done] {
            if (auto error = unknown(unit))
            {
                return done(&*error, {});
            }
            done(nullptr, units[unit].activeState);
        });
    }
    Subscription watchActiveState(const std::string& unit, std::function<void(std::string)> onChange) override
    {
        auto id = nextWatch_++;
        watches_[unit][id] = std::move(onChange);
        return Subscription([this, unit, id] { watches_[unit].erase(id); });
    }

  private:
    void later(std::function<void()> f) { due_.push_back(std::move(f)); }
    std::optional<SystemdError> failure(const std::string& method)
    {
        auto it = failures.find(method);
        if (it == failures.end())
        {
            return std::nullopt;
        }
        auto error = it->second;
        failures.erase(it);
        return error;
    }
    std::optional<SystemdError> unknown(const std::string& unit)
    {
        if (units[unit].loaded)
        {
            return std::nullopt;
        }
        return SystemdError{noSuchUnitError, "Unit " + unit + " not loaded."};
    }
    void answer(const std::string& method, const std::string& unit, Done done, std::function<void()> effect)
    {
        calls.push_back(method + (unit.empty() ? "" : " " + unit));
        auto error = failure(method);
        later([done, error, effect] {
            if (error)
            {
                return done(&*error);
            }
            effect();
            done(nullptr);
        });
    }
    void query(const std::string& method, const std::string& unit, std::function<void()> reply)
    {
        calls.push_back(method + " " + unit);
        later(std::move(reply));
    }
    std::string newJob()
    {
        lastJob_ = "/org/freedesktop/systemd1/job/" + std::to_string(nextJob_++);
        return lastJob_;
    }
    void start(const std::string& method, const std::string& unit, Queued done)
    {
        calls.push_back(method + " " + unit);
        if (auto error = failure(method))
        {
            return later([done, error] { done(&*error, {}); });
        }
        auto job = newJob();
        later([done, job] { done(nullptr, job); });
        if (startsComplete)
        {
            later([this, unit, job] {
                setState(unit, "active");
                removeJob(job, "done");
            });
        }
    }

    std::deque<std::function<void()>> due_;
    std::map<std::string, std::map<uint64_t, std::function<void(std::string)>>> watches_;
    uint64_t nextWatch_ = 0;
    std::map<std::string, std::function<void(std::string)>> jobWaiters_;
    std::map<std::string, std::string> removedJobs_;
    uint64_t nextJob_ = 1;
    std::string lastJob_;
};

} // namespace left4me::test

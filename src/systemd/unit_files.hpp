#pragma once

#include "systemd/systemd.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace left4me {

// A unit file the daemon writes: its name (e.g. "x.mount") and its text,
// every value in it already escaped (systemd/unit_text.hpp).
struct UnitFile
{
    std::string name;
    std::string text;
};

// Unit files the daemon owns in one directory (/etc/systemd/system for
// persistent mounts): written, loaded and enabled together, and taken away
// together. One piece of code for every operation that leaves units behind,
// so that each does the steps in the same order and leaves no half-state:
// a file is never enabled before systemd has loaded it, and never left
// enabled once it is gone.
class UnitFiles
{
  public:
    // The step that failed and why, as a sentence for the caller's error.
    using Failure = std::optional<std::string>;

    UnitFiles(Systemd& systemd, std::string directory) : systemd_(systemd), directory_(std::move(directory)) {}

    // Writes FILES (each atomically, 0644), reloads systemd, then enables
    // the units named in ENABLE, in order. DONE gets std::nullopt, or the
    // failing step; the files stay either way, for the caller's remove().
    void install(const std::vector<UnitFile>& files, std::vector<std::string> enable,
                 std::function<void(Failure)> done);

    // Disables UNITS (an error only means one was not enabled), removes
    // their files and reloads systemd. THEN runs in every case: there is
    // nothing left that the caller could do differently.
    void remove(std::vector<std::string> units, std::function<void()> then);

    [[nodiscard]] std::string path(const std::string& unit) const { return directory_ + "/" + unit; }

  private:
    void enableNext(const std::shared_ptr<std::vector<std::string>>& units, std::function<void(Failure)> done);
    void disableNext(const std::shared_ptr<std::vector<std::string>>& units, std::function<void()> then);

    Systemd& systemd_;
    std::string directory_;
};

} // namespace left4me

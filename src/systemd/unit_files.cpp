#include "systemd/unit_files.hpp"

#include "fs/file_write.hpp"

#include <filesystem>
#include <memory>
#include <system_error>

namespace left4me {

void UnitFiles::install(const std::vector<UnitFile>& files, std::vector<std::string> enable,
                        std::function<void(Failure)> done)
{
    try
    {
        for (const auto& file : files)
        {
            replaceFile(path(file.name), file.text, 0644);
        }
    }
    catch (const std::system_error& e)
    {
        return done(std::string(e.what()));
    }
    auto units = std::make_shared<std::vector<std::string>>(std::move(enable));
    systemd_.reload([this, units, done = std::move(done)](const SystemdError* error) {
        if (error != nullptr)
        {
            return done("daemon-reload failed: " + error->message);
        }
        enableNext(units, done);
    });
}

void UnitFiles::enableNext(const std::shared_ptr<std::vector<std::string>>& units, std::function<void(Failure)> done)
{
    if (units->empty())
    {
        return done(std::nullopt);
    }
    auto unit = units->front();
    units->erase(units->begin());
    systemd_.enableUnitFile(unit, [this, unit, units, done = std::move(done)](const SystemdError* error) {
        if (error != nullptr)
        {
            return done("enabling " + unit + " failed: " + error->message);
        }
        enableNext(units, done);
    });
}

void UnitFiles::remove(std::vector<std::string> units, std::function<void()> then)
{
    disableNext(std::make_shared<std::vector<std::string>>(std::move(units)), std::move(then));
}

void UnitFiles::disableNext(const std::shared_ptr<std::vector<std::string>>& units, std::function<void()> then)
{
    if (units->empty())
    {
        return systemd_.reload([then = std::move(then)](const SystemdError*) { then(); });
    }
    auto unit = units->front();
    units->erase(units->begin());
    systemd_.disableUnitFile(unit, [this, unit, units, then = std::move(then)](const SystemdError*) {
        std::error_code ignored;
        std::filesystem::remove(path(unit), ignored);
        disableNext(units, then);
    });
}

} // namespace left4me

// StartBuild's a{sv} option dictionary as any caller can send it: known and
// unknown keys with values of a dozen D-Bus types, through the steps
// ManagerObject::StartBuild takes (signatures, validate::options,
// plainOptions, parseBuildOptions), then the build hash of the result.
#include "builds/build_request.hpp"
#include "bus/option_values.hpp"
#include "fuzz_check.hpp"
#include "validate/arguments.hpp"

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Types.h>

#include <algorithm>
#include <fuzzer/FuzzedDataProvider.h>

using namespace left4me;

namespace {

std::string optionKey(FuzzedDataProvider& data)
{
    // Mostly the keys StartBuild knows, so that their values get parsed.
    static const std::vector<std::string> known = {"memory_max", "cpu_quota",   "tasks_max",        "timeout_sec",
                                                   "network",    "environment", "skip_if_unchanged"};
    if (data.ConsumeIntegralInRange(0, 7) == 0)
    {
        return data.ConsumeRandomLengthString(32);
    }
    return known[data.ConsumeIntegralInRange<std::size_t>(0, known.size() - 1)];
}

std::vector<std::string> strings(FuzzedDataProvider& data)
{
    std::vector<std::string> out(data.ConsumeIntegralInRange<std::size_t>(0, 300));
    for (auto& s : out)
    {
        s = data.ConsumeRandomLengthString(300);
    }
    return out;
}

// Throws sdbus::Error for what sd-bus would not carry (a string that is not
// UTF-8): no caller can send that.
sdbus::Variant optionValue(FuzzedDataProvider& data, int depth = 0)
{
    switch (data.ConsumeIntegralInRange(0, 11))
    {
    case 0:
        return sdbus::Variant(data.ConsumeBool());
    case 1:
        return sdbus::Variant(data.ConsumeIntegral<uint32_t>());
    case 2:
        return sdbus::Variant(data.ConsumeIntegral<uint64_t>());
    case 3:
        return sdbus::Variant(data.ConsumeRandomLengthString(100));
    case 4:
        return sdbus::Variant(strings(data));
    case 5:
        return sdbus::Variant(data.ConsumeIntegral<int32_t>());
    case 6:
        return sdbus::Variant(data.ConsumeIntegral<int64_t>());
    case 7:
        return sdbus::Variant(data.ConsumeFloatingPoint<double>());
    case 8:
        return sdbus::Variant(data.ConsumeIntegral<uint8_t>());
    case 9:
        return sdbus::Variant(sdbus::ObjectPath("/org/left4me/Builder"));
    case 10:
        return sdbus::Variant(std::vector<uint64_t>{data.ConsumeIntegral<uint64_t>()});
    default:
        return depth < 2 ? sdbus::Variant(optionValue(data, depth + 1)) : sdbus::Variant(std::string());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size)
{
    FuzzedDataProvider data(bytes, size);
    BuildLimits ceilings; // the configuration's: positive, as parseConfig ensures
    ceilings.memoryMaxBytes = data.ConsumeIntegralInRange<uint64_t>(1, UINT64_MAX);
    ceilings.cpuQuotaPercent = data.ConsumeIntegralInRange<uint32_t>(1, 100000);
    ceilings.tasksMax = data.ConsumeIntegralInRange<uint64_t>(1, 1U << 22U);
    ceilings.timeoutSec = data.ConsumeIntegralInRange<uint64_t>(1, 7ULL * 24 * 3600);

    std::map<std::string, sdbus::Variant> options;
    try
    {
        while (data.remaining_bytes() > 0 && options.size() < 12)
        {
            auto key = optionKey(data);
            options.insert_or_assign(key, optionValue(data));
        }
    }
    catch (const sdbus::Error&)
    {
        return -1;
    }

    // A message may quote a key or a string value. sd-bus has refused values
    // that are not UTF-8 (see optionValue), so the keys decide whether a
    // caller could have sent these options.
    std::string quotable;
    for (const auto& [key, value] : options)
    {
        quotable += key;
    }
    if (auto problem = validate::options(optionSignatures(options), buildOptionTable()))
    {
        checkMessage(quotable, *problem);
        return 0;
    }
    auto parsed = parseBuildOptions(plainOptions(options), ceilings);
    auto* build = std::get_if<BuildOptions>(&parsed);
    if (build == nullptr)
    {
        FUZZ_CHECK(!std::get<std::string>(parsed).empty());
        checkMessage(quotable, std::get<std::string>(parsed));
        return 0;
    }
    const auto& limits = build->limits;
    FUZZ_CHECK(limits.memoryMaxBytes >= 1 && limits.memoryMaxBytes <= ceilings.memoryMaxBytes);
    FUZZ_CHECK(limits.cpuQuotaPercent >= 1 && limits.cpuQuotaPercent <= ceilings.cpuQuotaPercent);
    FUZZ_CHECK(limits.tasksMax >= 1 && limits.tasksMax <= ceilings.tasksMax);
    FUZZ_CHECK(limits.timeoutSec >= 1 && limits.timeoutSec <= ceilings.timeoutSec);
    FUZZ_CHECK(build->environment.size() <= 256);
    for (const auto& entry : build->environment)
    {
        // What reaches the unit's Environment=: a safe key, one line.
        auto equals = entry.find('=');
        FUZZ_CHECK(equals != std::string::npos && equals > 0);
        auto key = entry.substr(0, equals);
        FUZZ_CHECK(key != "PATH" && key != "HOME" && key != "OVERLAY" && key != "SOURCE_DATE_EPOCH");
        FUZZ_CHECK(std::all_of(key.begin(), key.end(),
                               [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }));
        FUZZ_CHECK(entry.find_first_of("\n\r") == std::string::npos);
    }
    auto hash = buildHash("true\n", *build);
    FUZZ_CHECK(hash.size() == 64);
    auto epoch = sourceDateEpoch(hash);
    FUZZ_CHECK(epoch >= 315532800 && epoch < 315532800 + 946684800);
    return 0;
}

// left4me-builderctl's command line: any arguments give a command line or a
// UsageError (exit 2). One that passes checkArguments makes StartBuild
// options of the types the daemon accepts.
#include "builds/build_request.hpp"
#include "bus/option_values.hpp"
#include "cli/command_line.hpp"
#include "fuzz_check.hpp"
#include "validate/arguments.hpp"

#include <sdbus-c++/Error.h>
#include <systemd/sd-bus.h>

#include <string_view>

using namespace left4me;

namespace {

void number(std::string_view text)
{
    try
    {
        auto size = cli::parseSize(text, "--memory-max");
        FUZZ_CHECK(size > 0);
    }
    catch (const cli::UsageError&)
    {
    }
    try
    {
        auto value = cli::parseNumber(text, "--cpu-quota", 1, UINT32_MAX);
        FUZZ_CHECK(value >= 1 && value <= UINT32_MAX);
    }
    catch (const cli::UsageError&)
    {
    }
    try
    {
        auto path = cli::jobPathOf(text);
        FUZZ_CHECK(sd_bus_object_path_is_valid(path.c_str()) != 0);
    }
    catch (const cli::UsageError&)
    {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size)
{
    // argv without argv[0]: the arguments are separated by NUL, as in
    // /proc/PID/cmdline.
    std::string_view text(reinterpret_cast<const char*>(bytes), size);
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < text.size() && args.size() < 64)
    {
        auto end = std::min(text.find('\0', start), text.size());
        args.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    for (const auto& arg : args)
    {
        number(arg);
    }

    cli::CommandLine line;
    try
    {
        line = cli::parseCommandLine(args);
        if (line.command == nullptr || line.has("help") || line.has("version"))
        {
            return 0;
        }
        cli::checkArguments(line);
    }
    catch (const cli::UsageError& e)
    {
        FUZZ_CHECK(*e.what() != '\0');
        return 0;
    }
    catch (const sdbus::Error&)
    {
        return 0; // a value that is not UTF-8, which sd-bus will not send; main reports it
    }
    FUZZ_CHECK(line.args.size() >= line.command->minArgs && line.args.size() <= line.command->maxArgs);
    if (line.command->name != "build")
    {
        return 0;
    }
    auto options = cli::buildOptionsOf(line);
    FUZZ_CHECK(!validate::options(optionSignatures(options), buildOptionTable()));
    return 0;
}

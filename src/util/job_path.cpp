#include "util/job_path.hpp"

#include "bus/names.hpp"

#include <charconv>

namespace left4me {

namespace {

std::optional<uint64_t> decimalId(std::string_view digits)
{
    uint64_t id = 0;
    const char* end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, id);
    if (digits.empty() || ec != std::errc() || ptr != end || digits.front() == '0')
    {
        return std::nullopt;
    }
    return id;
}

} // namespace

std::string jobPath(uint64_t id)
{
    return names::jobPathPrefix + std::to_string(id);
}

std::optional<uint64_t> jobIdFromPath(std::string_view path)
{
    std::string_view prefix = names::jobPathPrefix;
    if (!path.starts_with(prefix))
    {
        return std::nullopt;
    }
    return decimalId(path.substr(prefix.size()));
}

std::optional<uint64_t> jobIdFromReference(std::string_view reference)
{
    return reference.starts_with(names::jobPathPrefix) ? jobIdFromPath(reference) : decimalId(reference);
}

} // namespace left4me

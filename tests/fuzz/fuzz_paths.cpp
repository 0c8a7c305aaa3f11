// The argument validators for names and paths (overlay, instance, add-on,
// binary, layers, user names, scripts), then what Mount builds from paths
// that passed: the layer's root, the overlay option string and the mount
// unit's name. A path that passes must not be able to change the meaning of
// any of them.
#include "fuzz_check.hpp"
#include "mounts/overlay_spec.hpp"
#include "validate/arguments.hpp"

#include <algorithm>
#include <string_view>

using namespace left4me;

namespace {

bool isNameChar(char c, std::string_view extra)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
}

void checkSegment(std::string_view name, std::string_view extra)
{
    FUZZ_CHECK(!name.empty() && name.size() <= 64 && isNameChar(name[0], ""));
    FUZZ_CHECK(std::all_of(name.begin(), name.end(), [&](char c) { return isNameChar(c, extra); }));
}

std::vector<std::string> split(std::string_view text, char separator)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size())
    {
        auto end = std::min(text.find(separator, start), text.size());
        out.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// An absolute path that passed: every segment is a plain name.
void checkAbsolutePath(std::string_view path)
{
    FUZZ_CHECK(path.size() > 1 && path.size() <= 1024 && path[0] == '/');
    for (const auto& part : split(path.substr(1), '/'))
    {
        FUZZ_CHECK(!part.empty() && part != "." && part != "..");
        FUZZ_CHECK(part.find_first_of(",:\\=\n") == std::string::npos);
        FUZZ_CHECK(std::none_of(part.begin(), part.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7f;
        }));
    }
}

// systemd's unescaping of a mount unit name back to its path.
std::string unitPath(const std::string& unit)
{
    FUZZ_CHECK(unit.size() > 6 && unit.ends_with(".mount"));
    auto name = std::string_view(unit).substr(0, unit.size() - 6);
    std::string path;
    for (std::size_t i = 0; i < name.size(); ++i)
    {
        if (name[i] == '-')
        {
            path += '/';
        }
        else if (name[i] == '\\')
        {
            FUZZ_CHECK(i + 3 < name.size());
            FUZZ_CHECK(name[i + 1] == 'x');
            path += static_cast<char>(std::stoi(std::string(name.substr(i + 2, 2)), nullptr, 16));
            i += 3;
        }
        else
        {
            FUZZ_CHECK(isNameChar(name[i], ":_."));
            path += name[i];
        }
    }
    return "/" + path;
}

// A validator's verdict on TEXT: the promises of its message if it
// refused, ACCEPTED's if it did not.
template <typename Accepted>
void checkVerdict(const validate::Problem& problem, std::string_view text, Accepted accepted)
{
    if (problem)
    {
        checkMessage(text, *problem);
    }
    else
    {
        accepted();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size)
{
    std::string_view text(reinterpret_cast<const char*>(bytes), size);

    checkVerdict(validate::overlayName(text), text, [&] { checkSegment(text, "_.-"); });
    checkVerdict(validate::instanceName(text), text, [&] { checkSegment(text, "_.-"); });
    checkVerdict(validate::addonSegment(text), text, [&] { checkSegment(text, "_.+-"); });
    checkVerdict(validate::relativeBinaryPath(text), text, [&] {
        auto parts = split(text, '/');
        FUZZ_CHECK(parts.size() <= validate::maxBinarySegments);
        for (const auto& part : parts)
        {
            checkSegment(part, "_.+-");
        }
    });
    checkVerdict(validate::userName(text), text, [&] {
        FUZZ_CHECK(!text.empty() && text.size() <= 31);
        FUZZ_CHECK(std::all_of(text.begin(), text.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        }));
    });
    checkVerdict(validate::script(text), text, [&] {
        FUZZ_CHECK(text.size() <= validate::maxScriptBytes && text.find('\0') == std::string_view::npos);
    });
    if (auto capability = validate::normalizeCapabilityName(text))
    {
        FUZZ_CHECK(capability->starts_with("cap_") && capability->size() > 4 && capability->size() <= 40);
        FUZZ_CHECK(validate::normalizeCapabilityName(*capability) == capability);
    }

    // Mount's layers: one per line, the first doubling as the instance's
    // runtime directory.
    auto layers = split(text, '\n');
    if (auto problem = validate::layers(layers))
    {
        checkMessage(text, *problem);
        return 0;
    }
    FUZZ_CHECK(!layers.empty() && layers.size() <= validate::maxLayers);
    const std::vector<std::string> roots = {"/var/lib/left4me/installation", "/var/lib/left4me/overlays", "/srv",
                                            "/srv/ab"};
    for (const auto& layer : layers)
    {
        checkAbsolutePath(layer);
        if (auto location = overlay::locateLayer(layer, roots))
        {
            FUZZ_CHECK(std::find(roots.begin(), roots.end(), location->root) != roots.end());
            FUZZ_CHECK(!location->relative.empty() && location->relative[0] != '/');
            FUZZ_CHECK(location->root + "/" + location->relative == layer);
        }
    }
    overlay::Spec spec{layers, layers[0] + "/upper", layers[0] + "/work"};
    auto options = overlay::options(spec);
    // No layer can add, drop or change a mount option.
    auto fields = split(options, ',');
    FUZZ_CHECK(fields.size() == 5);
    FUZZ_CHECK(fields[0].starts_with("lowerdir=") && fields[1].starts_with("upperdir=") &&
               fields[2].starts_with("workdir=") && fields[3] == "nosuid" && fields[4] == "nodev");
    FUZZ_CHECK(split(fields[0].substr(9), ':') == layers);
    FUZZ_CHECK(fields[1].substr(9) == spec.upper && fields[2].substr(8) == spec.work);
    // Two paths never share a unit name.
    FUZZ_CHECK(unitPath(overlay::mountUnitName(layers[0])) == layers[0]);
    return 0;
}

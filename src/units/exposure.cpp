#include "units/exposure.hpp"

#include "util/gobject_ptr.hpp"
#include "util/log.hpp"

#include <gio/gio.h>
#include <sstream>

namespace left4me {

std::string exposureOf(const std::string& output)
{
    // "→ Overall exposure level for NAME: 6.2 MEDIUM 😐"
    const std::string marker = "Overall exposure level for ";
    auto at = output.rfind(marker);
    if (at == std::string::npos)
    {
        return "";
    }
    auto colon = output.find(": ", at);
    auto end = output.find('\n', at);
    if (colon == std::string::npos || (end != std::string::npos && colon > end))
    {
        return "";
    }
    std::istringstream words(output.substr(colon + 2, end == std::string::npos ? std::string::npos : end - colon - 2));
    std::string score;
    std::string level;
    words >> score >> level;
    return level.empty() ? "" : score + " " + level;
}

namespace {

struct Request
{
    std::string unit;
    std::string addon;
};

void onDone(GObject* source, GAsyncResult* result, gpointer data)
{
    std::unique_ptr<Request> request(static_cast<Request*>(data));
    GObjectPtr<GSubprocess> child(G_SUBPROCESS(source));
    char* out = nullptr;
    GError* raw = nullptr;
    g_subprocess_communicate_utf8_finish(child.get(), result, &out, nullptr, &raw);
    GErrorPtr error(raw);
    std::string output = out != nullptr ? out : "";
    g_free(out);
    auto exposure = exposureOf(output);
    if (exposure.empty())
    {
        log::warning("systemd-analyze security gave no exposure for add-on unit " + request->unit +
                         (error ? std::string(": ") + error->message : std::string()),
                     {{"LEFT4ME_ADDON", request->addon}, {"UNIT", request->unit}});
        return;
    }
    log::info("Add-on unit " + request->unit + ": systemd-analyze security rates its exposure " + exposure,
              {{"LEFT4ME_ADDON", request->addon}, {"UNIT", request->unit}, {"LEFT4ME_EXPOSURE", exposure}});
}

} // namespace

void logExposure(const std::string& path, const std::string& unit, const std::string& addon)
{
    GError* raw = nullptr;
    // The child's reference is passed to onDone, which drops it.
    GSubprocess* child = g_subprocess_new(
        static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE), &raw,
        "systemd-analyze", "security", "--offline=yes", "--no-pager", path.c_str(), nullptr);
    GErrorPtr error(raw);
    if (child == nullptr)
    {
        log::warning("Cannot run systemd-analyze security on add-on unit " + unit + ": " + error->message,
                     {{"LEFT4ME_ADDON", addon}, {"UNIT", unit}});
        return;
    }
    g_subprocess_communicate_utf8_async(child, nullptr, nullptr, onDone, new Request{unit, addon});
}

} // namespace left4me

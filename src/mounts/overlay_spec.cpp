#include "mounts/overlay_spec.hpp"

namespace left4me::overlay {

std::optional<LayerLocation> locateLayer(const std::string& layer, const std::vector<std::string>& roots)
{
    for (const auto& root : roots)
    {
        if (layer.size() > root.size() + 1 && layer.compare(0, root.size(), root) == 0 && layer[root.size()] == '/')
        {
            return LayerLocation{root, layer.substr(root.size() + 1)};
        }
    }
    return std::nullopt;
}

std::string options(const Spec& spec)
{
    std::string out = "lowerdir=";
    for (std::size_t i = 0; i < spec.lowers.size(); ++i)
    {
        out += (i == 0 ? "" : ":") + spec.lowers[i];
    }
    if (!spec.upper.empty())
    {
        out += ",upperdir=" + spec.upper + ",workdir=" + spec.work;
    }
    return out + ",nosuid,nodev";
}

std::string mountUnitName(const std::string& where)
{
    static constexpr const char* hex = "0123456789abcdef";
    std::string path = where;
    while (path.size() > 1 && path.back() == '/')
    {
        path.pop_back();
    }
    if (path == "/")
    {
        return "-.mount";
    }
    std::string name;
    for (std::size_t i = 1; i < path.size(); ++i)
    {
        auto c = static_cast<unsigned char>(path[i]);
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                     c == '_' || (c == '.' && !name.empty());
        if (c == '/')
        {
            name += '-';
        }
        else if (plain)
        {
            name += static_cast<char>(c);
        }
        else
        {
            name += "\\x";
            name += hex[c >> 4U];
            name += hex[c & 0xfU];
        }
    }
    return name + ".mount";
}

} // namespace left4me::overlay

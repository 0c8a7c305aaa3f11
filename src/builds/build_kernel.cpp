#include "builds/build_kernel.hpp"

#include "net/host_networks.hpp"

namespace left4me {

BuildKernel realBuildKernel()
{
    // Any mapping proves a filesystem can be idmapped; one is made, once,
    // and kept (it costs a fork).
    auto probe = std::make_shared<IdmapCache>();
    BuildKernel kernel;
    kernel.openOverlay = [probe](const std::string& root, const std::string& overlay, bool withProbe) {
        constexpr uid_t nobody = 65534;
        return std::make_shared<const BindSource>(
            BindSource::open(root, overlay, withProbe ? probe->get(Idmap{nobody, nobody, nobody, nobody}) : -1));
    };
    kernel.bindOverlay = [](const std::shared_ptr<const BindSource>& source, const std::string& root,
                            const std::string& overlay, const std::string& target, const Idmap& idmap) {
        UniqueFd userns = idmapUserNamespace(idmap);
        if (source)
        {
            return source->attach(target, userns.get());
        }
        return BindSource::open(root, overlay).attach(target, userns.get());
    };
    kernel.isMounted = [](const std::string& target) { return BindMount::isMounted(target); };
    kernel.detach = [](const std::string& target) { BindMount::detach(target); };
    kernel.hostNetworks = [] { return net::hostNetworks(); };
    return kernel;
}

} // namespace left4me

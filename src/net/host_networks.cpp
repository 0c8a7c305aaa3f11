#include "net/host_networks.hpp"

#include "fs/unique_fd.hpp"
#include "kernel/host_namespace.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace left4me::net {

namespace {

[[noreturn]] void fail(const char* what, int error = errno)
{
    throw std::system_error(error, std::generic_category(), what);
}

// A NETLINK_ROUTE socket in PID 1's network namespace: a socket stays in
// the namespace it was made in, so only its socket() call needs to be there.
UniqueFd hostRouteSocket()
{
    UniqueFd sock;
    int error = 0;
    inHostNamespace(CLONE_NEWNET, [&] {
        sock.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
        error = errno;
    });
    if (!sock)
    {
        fail("socket(NETLINK_ROUTE)", error);
    }
    return sock;
}

IpPrefix prefixOf(int family, const void* address, std::size_t size, unsigned length)
{
    IpPrefix prefix;
    prefix.family = family;
    std::memcpy(prefix.bytes.data(), address, std::min(size, prefix.bytes.size()));
    prefix.length = length;
    return prefix.normalized();
}

// NLMSG_OK, with its comparison of the unsigned nlmsg_len against the
// signed remaining length made explicit: clang warns on the macro's.
bool messageOk(const nlmsghdr* header, int remaining)
{
    return remaining >= static_cast<int>(sizeof(nlmsghdr)) && header->nlmsg_len >= sizeof(nlmsghdr) &&
           header->nlmsg_len <= static_cast<unsigned>(remaining);
}

} // namespace

std::vector<IpPrefix> parseAddressDump(const unsigned char* data, std::size_t size, bool& done)
{
    std::vector<IpPrefix> out;
    done = false;
    auto remaining = static_cast<int>(size);
    for (const auto* header = reinterpret_cast<const nlmsghdr*>(data); messageOk(header, remaining);
         header = NLMSG_NEXT(header, remaining))
    {
        if (header->nlmsg_type == NLMSG_DONE)
        {
            done = true;
            break;
        }
        if (header->nlmsg_type == NLMSG_ERROR)
        {
            const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
            fail("RTM_GETADDR", header->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)) ? -error->error : EPROTO);
        }
        if (header->nlmsg_type != RTM_NEWADDR || header->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg)))
        {
            continue;
        }
        const auto* message = static_cast<const ifaddrmsg*>(NLMSG_DATA(header));
        if (message->ifa_family != AF_INET && message->ifa_family != AF_INET6)
        {
            continue;
        }
        std::size_t width = message->ifa_family == AF_INET ? 4 : 16;
        int attributes = static_cast<int>(IFA_PAYLOAD(header));
        for (const auto* attribute = IFA_RTA(message); RTA_OK(attribute, attributes);
             attribute = RTA_NEXT(attribute, attributes))
        {
            if ((attribute->rta_type == IFA_LOCAL || attribute->rta_type == IFA_ADDRESS) &&
                RTA_PAYLOAD(attribute) >= width)
            {
                out.push_back(prefixOf(message->ifa_family, RTA_DATA(attribute), width, message->ifa_prefixlen));
                // The address itself too, whatever its prefix length says.
                out.push_back(
                    prefixOf(message->ifa_family, RTA_DATA(attribute), width, static_cast<unsigned>(width * 8)));
            }
        }
    }
    return out;
}

std::vector<IpPrefix> hostNetworks()
{
    UniqueFd sock = hostRouteSocket();
    struct
    {
        nlmsghdr header;
        ifaddrmsg message;
    } request{};
    request.header.nlmsg_len = sizeof(request);
    request.header.nlmsg_type = RTM_GETADDR;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = 1;
    request.message.ifa_family = AF_UNSPEC;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(sock.get(), &request, sizeof(request), 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof(kernel)) <
        0)
    {
        fail("send RTM_GETADDR");
    }
    std::vector<IpPrefix> networks;
    std::array<unsigned char, 32768> buffer{};
    for (bool done = false; !done;)
    {
        ssize_t n = ::recv(sock.get(), buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            fail("receive the address list");
        }
        auto found = parseAddressDump(buffer.data(), static_cast<std::size_t>(n), done);
        networks.insert(networks.end(), found.begin(), found.end());
    }
    return networks;
}

} // namespace left4me::net

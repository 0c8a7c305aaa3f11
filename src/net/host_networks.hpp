#pragma once

#include "net/ip_prefix.hpp"

#include <cstddef>
#include <vector>

namespace left4me::net {

// The networks the host itself has an address in: for every address in PID
// 1's network namespace (any interface, loopback included), the address's
// own subnet (address/prefix length) and, for a point-to-point link, the
// peer's. A build must reach none of them: the host's own services listen
// there (on 0.0.0.0 they answer on every one of its addresses, public ones
// included), and the rest of such a subnet is the host's LAN. Asked of the
// kernel over rtnetlink, entered briefly into PID 1's network namespace
// (the daemon has a private one). Throws std::system_error.
std::vector<IpPrefix> hostNetworks();

// The addresses in one RTM_NEWADDR dump reply (a run of netlink messages);
// what hostNetworks() reads. Pure, for the tests. DONE says whether the
// dump's NLMSG_DONE was among them. Throws std::system_error on NLMSG_ERROR.
std::vector<IpPrefix> parseAddressDump(const unsigned char* data, std::size_t size, bool& done);

} // namespace left4me::net

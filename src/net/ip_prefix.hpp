#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// IP address ranges as systemd's IPAddressAllow= takes them, and the one
// operation builds need on them: taking some ranges out of others. Pure.
namespace left4me::net {

struct IpPrefix
{
    int family = 0;                  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{}; // network order; IPv4 uses the first 4
    unsigned length = 0;             // prefix length in bits

    [[nodiscard]] std::size_t addressBytes() const;
    // The same range with every bit past LENGTH cleared.
    [[nodiscard]] IpPrefix normalized() const;
    // Whether OTHER lies wholly inside this range (same family).
    [[nodiscard]] bool contains(const IpPrefix& other) const;
    bool operator==(const IpPrefix&) const = default;
};

// "192.0.2.0/24", "2001:db8::/32"; an address without "/N" is a host
// (/32 or /128). nullopt for anything else.
std::optional<IpPrefix> parsePrefix(std::string_view text);
std::string toString(const IpPrefix& prefix);

// FROM with every range of TAKE removed, as the fewest prefixes that cover
// the rest (a range of TAKE inside a range of FROM splits it into at most
// one prefix per bit of the difference). Families never mix.
std::vector<IpPrefix> subtract(const std::vector<IpPrefix>& from, const std::vector<IpPrefix>& take);

} // namespace left4me::net

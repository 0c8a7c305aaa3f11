#include "net/ip_prefix.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>

namespace left4me::net {

std::size_t IpPrefix::addressBytes() const
{
    return family == AF_INET ? 4 : 16;
}

IpPrefix IpPrefix::normalized() const
{
    IpPrefix out = *this;
    for (std::size_t i = 0; i < out.bytes.size(); ++i)
    {
        auto bit = static_cast<unsigned>(i) * 8;
        if (i >= addressBytes() || bit >= length)
        {
            out.bytes[i] = 0;
        }
        else if (length - bit < 8)
        {
            out.bytes[i] &= static_cast<uint8_t>(0xffU << (8 - (length - bit)));
        }
    }
    return out;
}

bool IpPrefix::contains(const IpPrefix& other) const
{
    if (family != other.family || other.length < length)
    {
        return false;
    }
    IpPrefix cut = other;
    cut.length = length;
    return cut.normalized().bytes == normalized().bytes;
}

std::optional<IpPrefix> parsePrefix(std::string_view text)
{
    auto slash = text.find('/');
    std::string address(text.substr(0, slash));
    IpPrefix prefix;
    if (inet_pton(AF_INET, address.c_str(), prefix.bytes.data()) == 1)
    {
        prefix.family = AF_INET;
    }
    else if (inet_pton(AF_INET6, address.c_str(), prefix.bytes.data()) == 1)
    {
        prefix.family = AF_INET6;
    }
    else
    {
        return std::nullopt;
    }
    prefix.length = static_cast<unsigned>(prefix.addressBytes() * 8);
    if (slash != std::string_view::npos)
    {
        auto digits = text.substr(slash + 1);
        unsigned length = 0;
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (error != std::errc() || end != digits.data() + digits.size() || digits.empty() || length > prefix.length)
        {
            return std::nullopt;
        }
        prefix.length = length;
    }
    return prefix.normalized();
}

std::string toString(const IpPrefix& prefix)
{
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (inet_ntop(prefix.family, prefix.bytes.data(), text.data(), text.size()) == nullptr)
    {
        return "?";
    }
    return std::string(text.data()) + "/" + std::to_string(prefix.length);
}

namespace {

// RANGE with HOLE (inside it) taken out: walking from RANGE down to HOLE
// one bit at a time, the half that does not hold HOLE stays.
std::vector<IpPrefix> without(const IpPrefix& range, const IpPrefix& hole)
{
    std::vector<IpPrefix> out;
    IpPrefix walk = range.normalized();
    while (walk.length < hole.length)
    {
        ++walk.length;
        auto byte = (walk.length - 1) / 8;
        auto bit = static_cast<uint8_t>(0x80U >> ((walk.length - 1) % 8));
        IpPrefix other = walk;
        if ((hole.bytes[byte] & bit) != 0)
        {
            walk.bytes[byte] |= bit;
            other.bytes[byte] &= static_cast<uint8_t>(~bit);
        }
        else
        {
            walk.bytes[byte] &= static_cast<uint8_t>(~bit);
            other.bytes[byte] |= bit;
        }
        out.push_back(other);
    }
    return out;
}

} // namespace

std::vector<IpPrefix> subtract(const std::vector<IpPrefix>& from, const std::vector<IpPrefix>& take)
{
    std::vector<IpPrefix> rest;
    rest.reserve(from.size());
    for (const auto& range : from)
    {
        rest.push_back(range.normalized());
    }
    for (const auto& rawHole : take)
    {
        auto hole = rawHole.normalized();
        std::vector<IpPrefix> next;
        for (const auto& range : rest)
        {
            if (hole.contains(range))
            {
                continue; // wholly taken
            }
            if (range.contains(hole))
            {
                auto pieces = without(range, hole);
                next.insert(next.end(), pieces.begin(), pieces.end());
                continue;
            }
            next.push_back(range); // disjoint
        }
        rest = std::move(next);
    }
    return rest;
}

} // namespace left4me::net

"""The build template's IP allow list is exactly what tools/public-ip-allowlist
prints, and that list leaves out every special-purpose range that is not
public unicast (IANA's registries), while keeping public hosts."""
import ipaddress
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TOOL = os.path.join(ROOT, "tools", "public-ip-allowlist")
TEMPLATE = os.path.join(ROOT, "systemd", "left4me-build@.service.in")

NOT_PUBLIC = ["0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.1.1", "172.16.0.1", "192.0.0.8",
              "192.0.2.80", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.51.100.80", "203.0.113.80",
              "224.0.0.251", "240.0.0.1", "255.255.255.255", "::1", "fe80::1", "fd00::9", "ff02::1",
              "64:ff9b::a00:1", "2001::1", "2001:2::1", "2001:db8::80", "2002:c0a8:101::1", "3fff::1"]
PUBLIC = ["1.1.1.1", "9.9.9.9", "8.8.8.8", "151.101.1.1", "192.0.1.1", "198.51.101.1", "203.0.114.1",
          "2620:fe::fe", "2606:4700:4700::1111", "2a00:1450::1", "2001:200::1"]


def template_ranges():
    with open(TEMPLATE) as f:
        return [r for line in f if line.startswith("IPAddressAllow=") for r in line.split("=", 1)[1].split()]


def tool_ranges():
    return subprocess.run([sys.executable, TOOL, "--plain"], check=True, capture_output=True,
                          text=True).stdout.split()


def test_the_template_carries_the_generated_list():
    assert template_ranges() == tool_ranges()


def test_the_list_admits_public_unicast_only():
    nets = [ipaddress.ip_network(r) for r in template_ranges()]

    def allowed(address):
        a = ipaddress.ip_address(address)
        return any(a in n for n in nets if n.version == a.version)

    assert [a for a in NOT_PUBLIC if allowed(a)] == []
    assert [a for a in PUBLIC if not allowed(a)] == []
    assert re.search(r"^IPAddressDeny=any$", open(TEMPLATE).read(), re.M)

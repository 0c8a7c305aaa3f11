"""What a build reaches on the network, against listeners that really
answer: the container's own addresses (a "public" one among them) and a
"far" network namespace behind a tun wire, standing in for the internet
(tests/e2e/netlab.py). The container has a network namespace of its own
(nspawn --private-network), so no packet leaves the machine. Every probe is
also made from outside the sandbox, where it must answer, so that "blocked"
can only mean the sandbox blocked it."""

import os

import pytest

LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "netlab.py")

# The host's own addresses: one public, one private, and loopback; a
# listener on 0.0.0.0 / [::] answers on each.
HOST = ["1.1.1.77", "10.9.9.9", "127.0.0.1", "2001:4860:4860::77", "fd00::9", "::1"]
# Beyond the wire: public hosts, and the documentation ranges, which are
# routable here but not public unicast.
FAR_PUBLIC = ["9.9.9.9", "2620:fe::fe"]
FAR_NOT_PUBLIC = ["192.0.2.80", "198.51.100.80", "203.0.113.80", "2001:db8::80"]

PROBE = r"""
probe() {
  if out=$(timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2 && head -n1 <&3" 2>/dev/null) && [ -n "$out" ]; then
    echo "$1 $out"
  else
    echo "$1 blocked"
  fi
}
"""


def probes(*groups):
    """Probes each (TARGETS, PORT) group, all at once: a dropped SYN only
    times out."""
    return PROBE + "".join(f"probe {t} {port} &\n" for targets, port in groups for t in targets) + "wait\n"


def answers(lines):
    return dict(line.split(" ", 1) for line in lines if " " in line)


@pytest.fixture(scope="module")
def internet(container):
    c = container
    c.sh("ip addr add 1.1.1.77/32 dev lo && ip addr add 10.9.9.9/32 dev lo && "
         "ip -6 addr add 2001:4860:4860::77/128 dev lo && ip -6 addr add fd00::9/128 dev lo && "
         "ip netns add far")
    c.run(["systemd-run", "--unit=l4m-bridge", "/usr/bin/python3", LAB, "bridge"])
    svc_wait(c, "ip link show l4m0 && ip -n far link show l4m1")
    routes = ["9.9.9.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]
    c.sh("ip link set l4m0 up && " + " && ".join(f"ip route add {r} dev l4m0" for r in routes) +
         " && ip -6 route add 2620:fe::/48 dev l4m0 && ip -6 route add 2001:db8::/32 dev l4m0")
    c.sh("ip -n far link set lo up && ip -n far link set l4m1 up && " +
         " && ".join(f"ip -n far addr add {a}/32 dev l4m1" for a in ["9.9.9.9"] + FAR_NOT_PUBLIC[:3]) +
         " && ip -n far -6 addr add 2620:fe::fe/128 dev l4m1 nodad"
         " && ip -n far -6 addr add 2001:db8::80/128 dev l4m1 nodad"
         " && ip -n far route add default dev l4m1 && ip -n far -6 route add default dev l4m1")
    c.run(["systemd-run", "--unit=l4m-host", "/usr/bin/python3", LAB, "serve", "host"])
    c.run(["systemd-run", "--unit=l4m-far", "-p", "NetworkNamespacePath=/run/netns/far", "/usr/bin/python3", LAB,
           "serve", "far"])
    # Outside the sandbox every listener answers, over the wire too.
    svc_wait(c, "bash -c 'exec 3<>/dev/tcp/9.9.9.9/80 && exec 4<>/dev/tcp/1.1.1.77/8080'")
    outside = answers(c.sh(probes((HOST, 8080), (FAR_PUBLIC + FAR_NOT_PUBLIC, 80))).stdout.splitlines())
    assert outside == {**{h: "host" for h in HOST}, **{f: "far" for f in FAR_PUBLIC + FAR_NOT_PUBLIC}}
    yield
    c.sh("systemctl stop l4m-bridge l4m-host l4m-far; ip netns del far; "
         "ip addr del 1.1.1.77/32 dev lo; ip addr del 10.9.9.9/32 dev lo; "
         "ip -6 addr del 2001:4860:4860::77/128 dev lo; ip -6 addr del fd00::9/128 dev lo; true", check=False)


def svc_wait(c, command, tries=100):
    for _ in range(tries):
        if c.sh(command, check=False).returncode == 0:
            return
        c.run(["sleep", "0.1"])
    raise AssertionError("timed out waiting for: " + command)


def test_a_build_resolves_names_and_reaches_public_hosts(svc, internet):
    svc.overlay("net")
    out = svc.build("net", "getent ahostsv4 far.example | head -n1\n" + probes((FAR_PUBLIC, 80)))
    assert out["properties"]["State"] == "succeeded", out
    assert out["lines"][0].split()[0] == "9.9.9.9"
    assert answers(out["lines"][1:]) == {f: "far" for f in FAR_PUBLIC}


def test_a_build_reaches_none_of_the_hosts_own_addresses_public_ones_included(svc, internet):
    svc.overlay("net")
    out = svc.build("net", probes((HOST, 8080)))
    assert answers(out["lines"]) == {h: "blocked" for h in HOST}


def test_a_build_reaches_no_range_that_is_not_public_unicast(svc, internet):
    svc.overlay("net")
    out = svc.build("net", probes((FAR_NOT_PUBLIC, 80)))
    assert answers(out["lines"]) == {f: "blocked" for f in FAR_NOT_PUBLIC}


def test_network_none_reaches_nothing_at_all(svc, internet):
    svc.overlay("net")
    out = svc.build("net", probes((HOST, 8080), (FAR_PUBLIC, 80)), options={"network": "none"})
    assert answers(out["lines"]) == {t: "blocked" for t in HOST + FAR_PUBLIC}

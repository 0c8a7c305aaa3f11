"""The Python client's transports: the bridge it starts for host= and
machine= is the one systemd's -H and -M use, and a bad name is refused before
anything runs."""

import pytest

from left4me_builder import Builder
from left4me_builder._transport import bridge_command


def test_a_host_is_reached_as_sd_bus_reaches_it():
    assert bridge_command(host="game1") == ["ssh", "-xT", "--", "game1", "systemd-stdio-bridge"]
    assert bridge_command(host="web@10.0.0.7:2222") == ["ssh", "-xT", "-p", "2222", "--", "web@10.0.0.7",
                                                        "systemd-stdio-bridge"]


def test_a_machine_is_reached_through_a_local_bridge():
    assert bridge_command(machine="ct1") == ["systemd-stdio-bridge", "--machine=ct1"]
    assert bridge_command(machine=".host") == ["systemd-stdio-bridge", "--machine=.host"]


@pytest.mark.parametrize("host", ["", "a b", "-oProxyCommand=x", "a'b", "a\\b", "h:port", "h:1:2"])
def test_a_host_sd_bus_would_refuse_is_a_value_error(host):
    with pytest.raises(ValueError, match="host takes"):
        bridge_command(host=host)


@pytest.mark.parametrize("machine", ["", "bob@ct", "ct/x", ".hidden", "-ct", "a" * 65])
def test_a_machine_that_is_no_container_name_is_a_value_error(machine):
    with pytest.raises(ValueError, match="machine takes"):
        bridge_command(machine=machine)


def test_one_transport_at_a_time():
    with pytest.raises(ValueError, match="not both"):
        Builder(host="127.0.0.1:1", machine="b")
    with pytest.raises(ValueError, match="not more than one"):
        Builder(bus_address="unix:path=/nonexistent", host="127.0.0.1:1")


def test_no_password_prompt_is_offered_over_a_bridge():
    # A loopback port nobody listens on: were the check missing, ssh would
    # fail here, on this machine, and the test with it.
    with pytest.raises(ValueError, match="interactive needs the local bus"):
        Builder(host="nobody@127.0.0.1:1", interactive=True)
    with pytest.raises(ValueError, match="interactive needs the local bus"):
        Builder(machine="ct1", interactive=True)

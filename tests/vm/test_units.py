"""The VM tier: an add-on's units where systemd runs them for real, on a
plain Debian 12 boot rather than in a container.

checks.py's addon_units installs add-on tick's version 1.0 with enable and
now (a oneshot that appends "1.0 <user>" to a file each time it runs), then
version 2.0, whose start fails, then removes the add-on, and reports what
systemd made of the unit after each step.
"""

from conftest import all_of

V1 = ("[Service]\nType=oneshot\nRemainAfterExit=yes\nUser=left4me\n"
      "ExecStart=/bin/sh -c 'echo 1.0 $(id -un) >> /var/lib/left4me/addons/tick/runs'\n"
      "[Install]\nWantedBy=multi-user.target\n")


def steps(reports):
    return {r["step"]: r for r in all_of(reports, "addon_units")}


def test_units_are_installed_enabled_and_run_as_the_owner_user(reports):
    first = steps(reports)["install 1.0"]
    assert (first["exit_code"], first["stderr"]) == (0, ""), first
    state = first["state"]
    assert (state["file"], state["UnitFileState"], state["ActiveState"], state["Result"]) == \
        (V1, "enabled", "active", "success"), state
    assert state["runs"] == ["1.0 left4me"], state


def test_a_version_whose_start_fails_puts_the_previous_one_back_enabled_and_active(reports):
    second = steps(reports)["install 2.0"]
    assert second["exit_code"] != 0, second
    assert "starting tick-worker.service" in second["stderr"], second
    assert "previous units are back" in second["stderr"], second
    state = second["state"]
    assert (state["file"], state["UnitFileState"], state["ActiveState"]) == (V1, "enabled", "active"), state
    # Put back and started again, as it was active: 1.0 ran a second time.
    assert state["runs"] == ["1.0 left4me"] * 2, state


def test_removing_the_addon_stops_disables_and_deletes_its_unit(reports):
    removed = steps(reports)["remove"]
    assert (removed["exit_code"], removed["stderr"]) == (0, ""), removed
    state = removed["state"]
    assert (state["file"], state["ActiveState"]) == (None, "inactive"), state
    assert "tick-worker.service" not in removed["wants"], removed

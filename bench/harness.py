#!/usr/bin/python3
"""bench/run's driver: boots the end-to-end tests' throwaway systemd
container, installs the build into it, runs bench/inside.py's measurements
there and prints the table of issue 5, each figure beside the floor that
systemd sets in the same run.

Every goal is a ratio or a count from one run: the machines are shared and
noisy, so an absolute time is only context. Goals that miss are reported,
not fatal; a run that loses a line or whose job fails is (exit status 3).
"""

import argparse
import datetime
import glob
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))

from container import Container  # noqa: E402  (the e2e tests' bootstrapper, reused)

PYTHON = "/usr/bin/python3"
MIB = 1024
CONFIG = {
    # The container cannot enforce cgroup limits (see the e2e tests).
    "allow_unenforced_limits": True,
    # No idle exit between figures; P3 stops the daemon itself.
    "idle_timeout_sec": 3600,
    # P4 runs 100 builds at once, all as root.
    "max_running_builds": 100,
    "max_running_builds_per_user": 100,
}


def spread(values):
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def row(figure, what, measured, floor, goal, passed, unit="ms", ratio=None, note=""):
    return {"id": figure, "figure": what, "measured": measured, "floor": floor, "ratio": ratio, "goal": goal,
            "pass": passed, "unit": unit, "note": note}


def fmt(value, unit):
    if value is None:
        return "—"
    if isinstance(value, dict):
        return f"{value['median']:g} {unit} [{value['min']:g}–{value['max']:g}]"
    if isinstance(value, str):
        return value
    return f"{value:g} {unit}".strip()


class Bench:
    def __init__(self, container, client, quick, broker_deb=None):
        self.c = container
        self.client = client
        self.quick = quick
        self.broker_deb = broker_deb  # dbus-broker's .deb, for P2's last row; None skips it

    def inside(self, *args, timeout=900):
        result = self.c.run([PYTHON, os.path.join(HERE, "inside.py")] + [str(a) for a in args], check=False,
                            timeout=timeout)
        try:
            answer = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            journal = self.c.run(["journalctl", "-b", "--no-pager", "-n", "60"], check=False).stdout
            raise SystemExit(f"bench: inside.py {args[0]} failed (exit {result.returncode}):\n{result.stderr}\n"
                             f"The container's journal ends:\n{journal}")
        if "broken" in answer:
            print(f"\nBROKEN RUN in {args[0]}: {answer['broken']}", file=sys.stderr)
            sys.exit(3)
        return answer

    def prepare(self):
        overlays = ["bench-p1", "bench-p2", "bench-p5-unused"] + [f"bench-p4-{i}" for i in range(100)]
        layers = [f"bench-layer-{i}" for i in range(32)]
        base = "/var/lib/left4me/overlays"
        self.c.sh(f"cd {base} && mkdir -p {' '.join(overlays + layers)} bench-floor && "
                  f"chown left4me: {' '.join(overlays)} && chmod 0755 bench-floor && "
                  + " && ".join(f"echo {i} > {layer}/layer-{i}" for i, layer in enumerate(layers)))
        self.c.write("/etc/left4me/builder.json", json.dumps(CONFIG))

    def run(self):
        rows, raw = [], {}
        runs = 5 if self.quick else 30

        # P3 first: the daemon's state then holds no more than one build.
        p3 = raw["P3"] = self.inside("p3", 3 if self.quick else 7, self.client)
        fp, hfp = p3["footprint"], p3["hostnamed_footprint"]
        rss = round(fp["rss_kib"] / MIB, 2)
        rows.append(row("P3", "idle RSS after one build", rss, round(hfp["rss_kib"] / MIB, 2), "≤ 6 MiB", rss <= 6,
                        unit="MiB", note=f"anon {fp['anon_kib']} KiB, file {fp['file_kib']} KiB, PSS {fp['pss_kib']} KiB; "
                                         f"hostnamed anon {hfp['anon_kib']} KiB, PSS {hfp['pss_kib']} KiB"))
        cold, hcold = spread(p3["cold_ms"]), spread(p3["hostnamed_cold_ms"])
        ratio = round(cold["median"] / hcold["median"], 2)
        rows.append(row("P3", "cold activation (first call, name unowned)", cold, hcold, "≤ hostnamed's",
                        ratio <= 1.0, ratio=ratio, note="GetManagedObjects vs hostname1 GetAll, in-process Gio"))
        after, hafter = spread(p3["after_name_ms"]), spread(p3["hostnamed_after_name_ms"])
        rows.append(row("P3", "  of which from the name taken to the reply (the rest is systemd starting it)", after,
                        hafter, "context", None, ratio=round(after["median"] / hafter["median"], 2),
                        note="from the NameOwnerChanged that gives the name its owner, as the client sees it"))

        p1 = raw["P1"] = self.inside("p1", runs, self.client)
        daemon, floor = spread(p1["daemon_ms"]), spread(p1["floor_ms"])
        ratio = round(daemon["median"] / floor["median"], 2)
        rows.append(row("P1", "trivial build round trip (C++ bench client)", daemon, floor, "ratio ≤ 1.0",
                        ratio <= 1.0, ratio=ratio,
                        note=f"StartBuild reply alone {spread(p1['reply_ms'])['median']:g} ms; floor: systemd-run "
                             "--wait --pipe --quiet with the template's properties"))
        cli = spread(p1["cli_ms"])
        rows.append(row("P1", "  the same with left4me-builderctl build (process included)", cli, floor, "context",
                        None, ratio=round(cli["median"] / floor["median"], 2)))

        p2 = raw["P2"] = self.inside("p2", 3 if self.quick else 7, self.client, timeout=1800)
        daemon, floor = spread(p2["daemon_ms"]), spread(p2["floor_ms"])
        ratio = round(daemon["median"] / floor["median"], 2)
        rows.append(row("P2", "seq 1000000: StartBuild until a subscriber (C++ bench client) holds the last line",
                        daemon, floor, "ratio ≤ 3, 0 lost", ratio <= 3, ratio=ratio,
                        note="0 lines lost, count and sha256 verified every run, for both clients; floor: "
                             "systemd-run --wait --pipe --quiet seq 1000000 | wc -l"))
        hardened = spread(p2["hardened_floor_ms"])
        rows.append(row("P2", "  floor with the build template's sandbox (systemd-run --pipe, P1's properties)",
                        hardened, floor, "context", None, ratio=round(hardened["median"] / floor["median"], 2)))
        python = spread(p2["python_ms"])
        rows.append(row("P2", "  the same with the Python client (Job.batches)", python, floor, "context", None,
                        ratio=round(python["median"] / floor["median"], 2)))
        rows.append(cpu_row(p2))
        rates = [p2["lines"] / s for s in p2["python_cpu_s"]]
        rate = spread([r / 1e6 for r in rates])
        rows.append(row("P2", "Python client capacity (lines per CPU second)", rate, None, "≥ 1 M lines/s",
                        rate["median"] >= 1.0, unit="M/s"))

        p4_runs = [self.inside("p4", 100, 10, 10000, timeout=1800) for _ in range(1 if self.quick else 3)]
        raw["P4"] = p4_runs
        tail = spread([p99(r["reply_ms"]) for r in p4_runs])
        peak = spread([r["peak_rss_kib"] / MIB for r in p4_runs])
        wall = spread([r["elapsed_s"] for r in p4_runs])
        rows.append(row("P4", "100 builds × 10,000 lines from 10 connections: all finish, 0 lost", 0, None, "0 lost",
                        True, unit="lines lost", note=f"every run verified (count, sha256, success); wall {fmt(wall, 's')}"))
        rows.append(row("P4", "  p99 StartBuild reply", tail, None, "≤ 50 ms", tail["median"] <= 50,
                        note=f"median reply {statistics.median(p4_runs[0]['reply_ms']):g} ms in the first run"))
        checks = spread([p99(r["polkit_ms"]) for r in p4_runs])
        rows.append(row("P4", "  p99 of 100 polkit checks sent at once, alone (each StartBuild pays one)", checks,
                        None, "context", None, note="CheckAuthorization with a system-bus-name subject, as the "
                        "daemon asks, just before the builds start"))
        rows.append(row("P4", "  daemon peak RSS (VmHWM)", {k: round(v, 2) if k != "n" else v for k, v in peak.items()},
                        None, "≤ 32 MiB", peak["median"] <= 32, unit="MiB"))

        p5 = raw["P5"] = self.inside("p5", 10 if self.quick else 20, 32, 200 if self.quick else 1000, timeout=1800)
        daemon, floor = spread(p5["daemon_ms"]), spread(p5["floor_ms"])
        ratio = round(daemon["median"] / floor["median"], 2)
        rows.append(row("P5", "Mount of 32 layers + Unmount", daemon, floor, "ratio ≤ 1.2", ratio <= 1.2, ratio=ratio,
                        note="floor: StartTransientUnit + StopUnit of the same mount unit, each waited for "
                             "through JobRemoved"))
        for part in ("mount", "unmount"):
            d, f = spread(p5[f"daemon_{part}_ms"]), spread(p5[f"floor_{part}_ms"])
            rows.append(row("P5", f"  {part.capitalize()} alone", d, f, "context", None,
                            ratio=round(d["median"] / f["median"], 2)))
        rows.append(row("P5", "  one polkit CheckAuthorization (paid by Mount and by Unmount)",
                        spread(p5["polkit_check_ms"]), None, "context", None))
        rows.append(row("P5", "  a call that does no work: Unmount of an unknown instance (hop, polkit, error)",
                        spread(p5["no_work_call_ms"]), None, "context", None,
                        note="what every Mount and Unmount pays before its own work; the floor, calling systemd "
                             "directly, pays none of it"))
        before, after = p5["leak_before"], p5["leak_after"]
        grown = {k: after[k] - before[k] for k in before}
        # RSS moves in pages and with malloc's arenas; a leak grows with the
        # count, so allow less than 64 bytes a cycle.
        leak_ok = grown["mounts"] == 0 and grown["units"] == 0 and grown["fds"] == 0 and \
            grown["rss_kib"] * 1024 < 64 * p5["cycles"]
        rows.append(row("P5", f"{p5['cycles']} Mount/Unmount cycles: growth", grown, None, "nothing leaks", leak_ok,
                        unit="", note=f"before {before}, halfway {p5['leak_half']}, after {after}; "
                                      f"{p5['cycles_s']:g} s"))

        # Last, since it swaps the container's message bus: P2 again with
        # dbus-broker, to show what dbus-daemon's share of P2 is.
        if self.broker_deb:
            self.use_dbus_broker()
            broker = raw["P2 dbus-broker"] = self.inside("p2", 3 if self.quick else 5, self.client, timeout=1800)
            if broker["bus"] != "dbus-broker":
                raise SystemExit(f"bench: the container's bus is still {broker['bus']} after the swap")
            d, f = spread(broker["daemon_ms"]), spread(broker["floor_ms"])
            rows.append(row("P2", "  the same, rerun with dbus-broker as the system bus (C++ bench client)", d, f, "context",
                            None, ratio=round(d["median"] / f["median"], 2),
                            note="dbus-broker swapped in for dbus-daemon in the same container, floor remeasured"))
            rows.append(cpu_row(broker))
        return rows, raw

    def use_dbus_broker(self):
        """Installs dbus-broker in the container only, makes it the system
        bus and reboots the container on the same root."""
        self.c.run(["dpkg", "-i", self.broker_deb])
        self.c.run(["systemctl", "enable", "--force", "dbus-broker.service"])
        self.c.reboot()


def cpu_row(p2):
    """Where P2's CPU goes, per build of the C++ client's runs."""
    parts = {part: spread(values)["median"] for part, values in p2["cpu_ms"].items()}
    return row("P2", f"  CPU per build: daemon, {p2['bus']}, C++ client",
               f"{parts['daemon']:g} / {parts['bus']:g} / {parts['client']:g} ms", None, "context", None, unit="",
               note="from /proc/PID/stat (10 ms steps), medians over the C++ client's runs")


def print_table(rows, out=sys.stdout):
    header = ["id", "figure", "measured (median [min–max])", "floor", "ratio", "goal", "result"]
    lines = []
    for r in rows:
        unit = r["unit"]
        if isinstance(r["measured"], dict) and "median" not in r["measured"]:
            measured = ", ".join(f"{k} {v:+g}" for k, v in r["measured"].items())
        else:
            measured = fmt(r["measured"], unit)
        result = {True: "PASS", False: "FAIL", None: ""}[r["pass"]]
        lines.append([r["id"], r["figure"], measured, fmt(r["floor"], unit), "" if r["ratio"] is None else f"{r['ratio']:g}",
                      r["goal"], result])
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "|".join("---" for _ in header) + "|\n")
    for line in lines:
        out.write("| " + " | ".join(line) + " |\n")
    out.write("\nNotes:\n")
    for r in rows:
        if r["note"]:
            out.write(f"- {r['id']} {r['figure'].strip()}: {r['note']}\n")


def machine(container):
    def host(cmd):
        return os.popen(cmd).read().strip()

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": host("nproc"),
        "kernel": host("uname -r"),
        "cpu": host("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-"),
        "memory": host("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo"),
        "systemd": container.run(["systemctl", "--version"]).stdout.splitlines()[0],
        "dbus": container.run(["dbus-daemon", "--version"]).stdout.splitlines()[0],
        "load_before": host("cut -d' ' -f1-3 /proc/loadavg"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--json", help="where to write the results (default: BUILD_DIR/bench-results.json)")
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke test, not a measurement")
    args = parser.parse_args()
    build_dir = os.path.abspath(args.build_dir)
    client = os.path.join(build_dir, "bench", "left4me-bench-client")
    container = Container(build_dir, SOURCE)
    try:
        container.boot()
        container.install()
        info = machine(container)
        # bench/run fetches it; without it the dbus-broker rows are skipped.
        debs = sorted(glob.glob(os.path.join(build_dir, "debs", "dbus-broker_*.deb")))
        if not debs:
            print("bench: no dbus-broker package in BUILD_DIR/debs; P2's dbus-broker rows are skipped",
                  file=sys.stderr)
        bench = Bench(container, client, args.quick, debs[-1] if debs else None)
        bench.prepare()
        rows, raw = bench.run()
        info["load_after"] = os.popen("cut -d' ' -f1-3 /proc/loadavg").read().strip()
    finally:
        container.poweroff()
    print()
    print("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print()
    print_table(rows)
    path = args.json or os.path.join(build_dir, "bench-results.json")
    with open(path, "w") as f:
        json.dump({"machine": info, "table": rows, "raw": raw, "quick": args.quick}, f, indent=1)
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()

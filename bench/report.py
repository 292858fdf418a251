#!/usr/bin/env python3
"""Aggregates bench/run's raw results (JSON) into report.md and gnuplot PNGs.

Every figure is the median of the repetitions with [min-max]. Usage: report.py OUT_DIR
"""
import glob
import json
import os
import statistics
import subprocess
import sys

out = sys.argv[1]


def load(path):
    with open(path) as f:
        return json.load(f)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(s, unit="", scale=1.0, digits=0):
    if s is None:
        return "n/a"
    med, lo, hi = (x * scale for x in s)
    return f"{med:,.{digits}f}{unit} [{lo:,.{digits}f}–{hi:,.{digits}f}]"


def median_run(runs, key):
    ordered = sorted(runs, key=lambda r: r[key])
    return ordered[len(ordered) // 2]


machine = load(os.path.join(out, "machine.json"))
lines = ["# medrelay benchmark report", ""]
lines += [
    f"- Command: `{machine['command']}` ({machine['mode']} mode), {machine['date']}",
    f"- Machine: {machine['cores']} cores, {machine['cpu']}, kernel {machine['kernel']}",
    f"- Build: {machine['build']}; commit {machine['commit']}",
    f"- Repetitions per figure: {machine['reps']}; figures are medians with [min–max].",
    "- Everything runs on loopback. The relay under test is pinned to CPU 0 and the generator "
    "to CPU 1 where the machine has two or more cores; CPU seconds come from /proc/<pid>/stat.",
    "",
]

# --- Micro-benchmarks -------------------------------------------------------------------------
micro_path = os.path.join(out, "micro.json")
if os.path.exists(micro_path):
    runs = {}
    for b in load(micro_path).get("benchmarks", []):
        if b.get("run_type") != "iteration":
            continue
        runs.setdefault(b["run_name"], []).append(b)
    lines += ["## Micro-benchmarks (Google Benchmark)", "",
              "| benchmark | CPU time per op | ops/s (CPU) |", "|---|---|---|"]
    for name, rs in runs.items():
        unit = rs[0]["time_unit"]
        cpu = stats([r["cpu_time"] for r in rs])
        per_s = {"ns": 1e9, "us": 1e6, "ms": 1e3, "s": 1}[unit]
        ops = stats([per_s / r["cpu_time"] if r["cpu_time"] else None for r in rs])
        label = f" ({rs[0]['label']})" if rs[0].get("label") else ""
        lines.append(f"| `{name}`{label} | {fmt(cpu, ' ' + unit, digits=1)} | {fmt(ops)} |")
    lines.append("")

# --- Ceiling ----------------------------------------------------------------------------------
ceiling = {}
for p in glob.glob(os.path.join(out, "ceiling", "K*_rep*.json")):
    r = load(p)
    ceiling.setdefault(r["fanout"], []).append(r)
if ceiling:
    lines += ["## Ceiling: bare UDP relay (recvmmsg/sendmmsg, no crypto, one core)", "",
              "Unpaced generator (as fast as it can send), RTP-shaped packets (audio 100–200 B at "
              "50/s, video frames split into ≤ 1200 B packets sent in bursts).", "",
              "| fan-out K | offered pkt/s | forwarded pkt/s | forwarded per relay CPU-second | "
              "loss | latency p50 / p99 (µs) |", "|---|---|---|---|---|---|"]
    for k in sorted(ceiling):
        rs = ceiling[k]
        lines.append(
            f"| {k} | {fmt(stats([r['offered_pps'] for r in rs]))} | "
            f"{fmt(stats([r['forwarded_pps'] for r in rs]))} | "
            f"{fmt(stats([r['forwarded_per_cpu_second'] for r in rs]))} | "
            f"{fmt(stats([r['loss'] for r in rs]), ' %', 100, 2)} | "
            f"{fmt(stats([r['latency']['p50_us'] for r in rs]))} / "
            f"{fmt(stats([r['latency']['p99_us'] for r in rs]))} |")
    lines.append("")

# --- medrelay SFU forwarding (medrelay-load) --------------------------------------------------
sfu = {}
for p in glob.glob(os.path.join(out, "medrelay", "*_rep*.json")):
    r = load(p)
    sfu.setdefault(r.get("label", "default"), []).append(r)
lines += ["## medrelay forwarding (WebRTC participants, SRTP)", ""]
if sfu:
    lines += ["| run | forwarded pkt/s | forwarded per relay CPU-second | ratio to ceiling | loss | "
              "latency p50 / p99 (µs) | join time p50 (ms) |", "|---|---|---|---|---|---|---|"]
    ceil1 = stats([r["forwarded_per_cpu_second"] for r in ceiling.get(1, [])])
    for label, rs in sorted(sfu.items()):
        per = stats([r["forwarded_per_cpu_second"] for r in rs])
        ratio = stats([r["forwarded_per_cpu_second"] / ceil1[0] for r in rs]) if ceil1 else None
        lines.append(f"| {label} | {fmt(stats([r['forwarded_pps'] for r in rs]))} | {fmt(per)} | "
                     f"{fmt(ratio, digits=2)} | {fmt(stats([r['loss'] for r in rs]), ' %', 100, 2)} | "
                     f"{fmt(stats([r['latency']['p50_us'] for r in rs]))} / "
                     f"{fmt(stats([r['latency']['p99_us'] for r in rs]))} | "
                     f"{fmt(stats([r.get('join_ms_p50') for r in rs]))} |")
    lines.append("")
else:
    lines += ["Not measured in this run: " + machine.get("sfu_note", "medrelay-load is not built.")
              + " The figure of merit (medrelay forwarded packets per CPU-second ÷ the ceiling's, "
              "goal ≥ 0.8 with SRTP) is therefore not reported.", ""]

# --- TURN -------------------------------------------------------------------------------------
turn_path = os.path.join(out, "turn.jsonl")
turn = {}
if os.path.exists(turn_path):
    with open(turn_path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                turn.setdefault(r["server"], []).append(r)
if turn:
    lines += ["## TURN: medrelay vs coturn 4.6.1 (same turnutils_uclient load, alternating runs)", "",
              f"UDP, ChannelData, 1200-byte messages, {turn[next(iter(turn))][0]['allocations']} "
              "allocations, echoed by turnutils_peer; relayed packets = 2 × echoed messages.", "",
              "| server | relayed packets | server CPU s | relayed per CPU-second | loss | peak RSS (MiB) |",
              "|---|---|---|---|---|---|"]
    for server, rs in sorted(turn.items()):
        lines.append(f"| {server} | {fmt(stats([r['relayed_packets'] for r in rs]))} | "
                     f"{fmt(stats([r['cpu_seconds'] for r in rs]), digits=2)} | "
                     f"{fmt(stats([r['relayed_per_cpu_second'] for r in rs]))} | "
                     f"{fmt(stats([r['loss'] for r in rs]), ' %', 100, 2)} | "
                     f"{fmt(stats([r['peak_rss_bytes'] for r in rs]), '', 1 / 2**20, 1)} |")
    if "medrelay" in turn and "coturn" in turn:
        m = stats([r["relayed_per_cpu_second"] for r in turn["medrelay"]])
        c = stats([r["relayed_per_cpu_second"] for r in turn["coturn"]])
        if m and c:
            lines += ["", f"**Ratio medrelay / coturn (relayed per CPU-second, medians): "
                      f"{m[0] / c[0]:.2f}** (goal ≥ 2). With runs this short the CPU figures have "
                      "10 ms resolution; compare the min–max ranges."]
    lines.append("")

# --- Scaling ----------------------------------------------------------------------------------
scaling = {}
for p in glob.glob(os.path.join(out, "scaling", "*_rep*.json")):
    r = load(p)
    scaling.setdefault((r.get("target", "ceiling"), r["load_pct"]), []).append(r)
if scaling:
    lines += ["## Scaling: share of the saturation point", "",
              "| target | load | offered pkt/s | forwarded pkt/s | relay CPU s per 1 M forwarded | "
              "latency p50 / p90 / p99 (µs) |", "|---|---|---|---|---|---|"]
    for (target, pct), rs in sorted(scaling.items()):
        cpu_per_m = stats([r["relay_cpu_seconds"] / r["received_packets"] * 1e6
                           if r["received_packets"] else None for r in rs])
        lines.append(f"| {target} | {pct} % | {fmt(stats([r['offered_pps'] for r in rs]))} | "
                     f"{fmt(stats([r['forwarded_pps'] for r in rs]))} | {fmt(cpu_per_m, digits=2)} | "
                     f"{fmt(stats([r['latency']['p50_us'] for r in rs]))} / "
                     f"{fmt(stats([r['latency']['p90_us'] for r in rs]))} / "
                     f"{fmt(stats([r['latency']['p99_us'] for r in rs]))} |")
    lines.append("")

# --- Plots ------------------------------------------------------------------------------------
plots = []
gp = []
data_dir = os.path.join(out, "plot-data")
os.makedirs(data_dir, exist_ok=True)

cdf_series = []
for k in sorted(ceiling):
    run = median_run(ceiling[k], "forwarded_pps")
    path = os.path.join(data_dir, f"cdf_ceiling_K{k}.dat")
    with open(path, "w") as f:
        for us, q in run.get("latency_cdf", []):
            f.write(f"{max(us, 1)} {q}\n")
    cdf_series.append((path, f"ceiling K={k}"))
for label, rs in sorted(sfu.items()):
    run = median_run(rs, "forwarded_pps")
    path = os.path.join(data_dir, f"cdf_medrelay_{label}.dat")
    with open(path, "w") as f:
        for us, q in run.get("latency_cdf", []):
            f.write(f"{max(us, 1)} {q}\n")
    cdf_series.append((path, f"medrelay {label}"))
if cdf_series:
    gp += ["set terminal png size 900,540",
           f"set output '{os.path.join(out, 'latency_cdf.png')}'",
           "set title 'Receive-to-send latency through the relay (median run)'",
           "set xlabel 'latency (us, log scale)'", "set ylabel 'fraction of packets'",
           "set logscale x", "set key bottom right", "set grid",
           "plot " + ", ".join(f"'{p}' using 1:2 with lines lw 2 title '{t}'" for p, t in cdf_series),
           "unset logscale x"]
    plots.append(("latency_cdf.png", "Latency CDF"))

if scaling:
    series = []
    for target in sorted({t for t, _ in scaling}):
        path = os.path.join(data_dir, f"scaling_{target}.dat")
        with open(path, "w") as f:
            for (t, pct), rs in sorted(scaling.items(), key=lambda kv: kv[0][1]):
                if t != target:
                    continue
                off = statistics.median(r["offered_pps"] for r in rs)
                fw = stats([r["forwarded_pps"] for r in rs])
                f.write(f"{off} {fw[0]} {fw[1]} {fw[2]}\n")
        series.append((path, target))
    gp += ["set terminal png size 900,540", f"set output '{os.path.join(out, 'throughput_vs_load.png')}'",
           "set title 'Forwarded vs offered load (median, min-max bars)'",
           "set xlabel 'offered packets/s'", "set ylabel 'forwarded packets/s'", "set key top left",
           "set grid", "plot " + ", ".join(
               f"'{p}' using 1:2:3:4 with yerrorlines lw 2 title '{t}'" for p, t in series)]
    plots.append(("throughput_vs_load.png", "Throughput vs offered load"))

bars = []
if 1 in ceiling:
    bars.append(("ceiling K=1", stats([r["forwarded_per_cpu_second"] for r in ceiling[1]])))
for label, rs in sorted(sfu.items()):
    bars.append((f"medrelay SFU {label}", stats([r["forwarded_per_cpu_second"] for r in rs])))
for server, rs in sorted(turn.items()):
    bars.append((f"{server} TURN", stats([r["relayed_per_cpu_second"] for r in rs])))
bars = [(n, s) for n, s in bars if s]
if bars:
    path = os.path.join(data_dir, "per_cpu.dat")
    with open(path, "w") as f:
        for i, (name, s) in enumerate(bars):
            f.write(f"{i} \"{name}\" {s[0]} {s[1]} {s[2]}\n")
    gp += ["set terminal png size 900,540", f"set output '{os.path.join(out, 'per_cpu_second.png')}'",
           "set title 'Packets forwarded/relayed per CPU-second (median, min-max)'",
           "set ylabel 'packets per CPU-second'", "set style fill solid 0.5", "set boxwidth 0.6",
           "set xrange [-0.6:%f]" % (len(bars) - 0.4), "set yrange [0:*]", "unset key", "set grid ytics",
           f"plot '{path}' using 1:3:xtic(2) with boxes, '' using 1:3:4:5 with yerrorbars lc rgb 'black'"]
    plots.append(("per_cpu_second.png", "medrelay vs ceiling vs coturn, per CPU-second"))

if gp:
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True)
        lines += ["## Plots", ""] + [f"![{t}]({f})" for f, t in plots] + [""]
    except (OSError, subprocess.CalledProcessError) as e:
        lines += ["## Plots", "", f"gnuplot failed ({e}); install it with `scripts/install-deps.sh bench`.", ""]

with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines))
print(os.path.join(out, "report.md"))

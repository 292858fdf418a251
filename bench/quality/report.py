#!/usr/bin/python3
"""Turns bench/quality/run's figures (quality-<condition>.json from call_quality.mjs --bench)
into report.md: per condition and receiving role, relay ÷ peer to peer against the goals of
docs/performance.md "Call quality", and gnuplot PNGs of each condition's time series.

Usage: report.py <dir> <condition>...
"""
import json
import os
import subprocess
import sys

# Goals (docs/performance.md): through medrelay, per condition and receiver.
FPS_RATIO = 0.9
PICTURE_RATIO = 0.9
ADAPT_SLACK_S = 2.0
AUDIO_CONDITIONS = {"uplink_600k", "loss_2m_3pct", "downlink_600k"}  # audio never interrupted


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ratio(a, b):
    return a / b if b else float("nan")


def row(cond, relay, p2p):
    """One receiving role: figures and which goals hold."""
    fps = ratio(relay["recvFps"], p2p["recvFps"])
    pic = ratio(relay["recvWidth"] * relay["recvHeight"], p2p["recvWidth"] * p2p["recvHeight"])
    freeze = relay["freezeSeconds"] - p2p["freezeSeconds"]
    conceal = relay["concealment"] - p2p["concealment"]
    checks = {
        "fps": fps >= FPS_RATIO,
        "picture": pic >= PICTURE_RATIO,
        "freezes": freeze <= 0.0,
        "concealment": conceal <= 0.005,  # half a percentage point of measuring noise
    }
    adapt = None
    if relay.get("adaptSeconds") is not None and p2p.get("adaptSeconds") is not None:
        adapt = relay["adaptSeconds"] - p2p["adaptSeconds"]
        checks["adaptation"] = adapt <= ADAPT_SLACK_S
    if cond in AUDIO_CONDITIONS:
        checks["audio"] = relay["audioGapSeconds"] == 0
    return {
        "role": relay["role"], "fps": fps, "picture": pic, "freeze": freeze, "conceal": conceal,
        "adapt": adapt, "target": ratio(relay["targetBitrate"], p2p["targetBitrate"]),
        "recv": ratio(relay["recvKbps"], p2p["recvKbps"]), "checks": checks,
        "relay": relay, "p2p": p2p,
    }


def fmt(x, digits=2):
    return "–" if x is None or x != x else f"{x:.{digits}f}"


def plot(out, cond):
    """Sender target and receiver bitrate over the window, peer to peer vs relay."""
    series = {}
    for label in ("p2p", "relay"):
        d = load(os.path.join(out, f"quality-{cond}-{label}.json"))
        if not d:
            return None
        for k, s in enumerate(d["series"]):
            role = d["result"][k]["role"]
            path = os.path.join(out, f"series-{cond}-{label}-{role}.dat")
            with open(path, "w") as f:
                prev = None
                for x in s:
                    recv = 0.0
                    if prev and x.get("recv") and prev.get("recv"):
                        dt = max(1, x["t"] - prev["t"])
                        recv = 8 * (x["recv"]["bytesReceived"] - prev["recv"]["bytesReceived"]) / dt
                    target = (x.get("sent") or {}).get("targetBitrate", 0) / 1000
                    fps = (x.get("recv") or {}).get("framesPerSecond", 0)
                    f.write(f"{x['t'] / 1000:.1f} {target:.0f} {recv:.0f} {fps}\n")
                    prev = x
            series[(label, role)] = path
    png = f"quality-{cond}.png"
    gp = [
        "set terminal pngcairo size 1100,420 font ',10'" if has_cairo() else "set terminal png size 1100,420",
        f"set output '{os.path.join(out, png)}'",
        "set termoption noenhanced", "set yrange [0:*]", "set multiplot layout 1,2",
        f"set title '{cond}: patient sender target (kbit/s)'", "set xlabel 's'", "set key bottom right",
        "plot " + ", ".join(f"'{series[(l, 'patient')]}' using 1:2 with lines title '{l}'" for l in ("p2p", "relay")),
        f"set title '{cond}: doctor receives the patient (fps)'",
        "plot " + ", ".join(f"'{series[(l, 'doctor')]}' using 1:4 with lines title '{l}'" for l in ("p2p", "relay")),
        "unset multiplot",
    ]
    try:
        subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return png


def has_cairo():
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        return "pngcairo" in (r.stdout + r.stderr)
    except OSError:
        return False


def main():
    out, conds = sys.argv[1], sys.argv[2:]
    lines = ["# Call quality: medrelay against peer to peer", "",
             "Same two Chromium browsers, same shaped link, one run (`bench/quality/run`). Ratios are "
             "relay ÷ peer to peer of what each role receives from the other; freezes and audio "
             "concealment are relay − peer to peer (seconds, fraction). Goals: fps and picture "
             f"≥ {FPS_RATIO}, freezes ≤ 0, concealment ≤ peer to peer, adaptation after the step "
             f"within {ADAPT_SLACK_S:.0f} s, audio never interrupted under 600 kbit/s and loss.", "",
             "| condition | receiver | fps | picture | freeze s (Δ) | conceal (Δ) | adapt s (Δ) | "
             "recv kbit/s | target | goals |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    plots = []
    summary = {}
    for cond in conds:
        d = load(os.path.join(out, f"quality-{cond}.json"))
        if not d or not d.get("relay") or not d.get("p2p"):
            lines.append(f"| {cond} | – | run failed | | | | | | | ✗ |")
            summary[cond] = False
            continue
        ok = True
        for relay in d["relay"]:
            p2p = next(x for x in d["p2p"] if x["role"] == relay["role"])
            r = row(cond, relay, p2p)
            failed = [k for k, v in r["checks"].items() if not v]
            ok = ok and not failed
            lines.append(
                f"| {cond} | {r['role']} | {fmt(r['fps'])} | {fmt(r['picture'])} | {fmt(r['freeze'], 1)} | "
                f"{fmt(r['conceal'], 3)} | {fmt(r['adapt'], 1)} | {relay['recvKbps']:.0f} / {p2p['recvKbps']:.0f} | "
                f"{fmt(r['target'])} | {'✓' if not failed else '✗ ' + ', '.join(failed)} |")
        summary[cond] = ok
        png = plot(out, cond)
        if png:
            plots.append(png)
    lines += ["", f"Goals met in {sum(summary.values())} of {len(summary)} conditions.", ""]
    for png in plots:
        lines += [f"![{png}]({png})", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[6:]))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""compare_report.py: the side-by-side figures of tests/bench/compare.sh.

Reads the JSON lines that compare.sh prints (one file per repeated run, same
settings), takes the median of each figure over the runs, and writes:
  - a Markdown table on standard output (one row per system, settings and
    load: closed loop, then each offered rate);
  - with --png FILE, a plot made with gnuplot (Debian's gnuplot-nox):
    saturation throughput per system, and delivered p99 at each offered rate.

Only the standard library and gnuplot: nothing from PyPI.

  tests/bench/compare_report.py --png docs/img/compare.png run1.jsonl run2.jsonl run3.jsonl
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def settings_of(run):
    """What distinguishes runs of one system: its durability settings."""
    system = run.get("system", "?")
    if system == "weituo":
        return "SDK agents, broker sync=%s" % str(run.get("sync")).lower()
    label = run.get("label", "")
    if system == "weituo-wire":
        return "light clients, broker sync=%s" % ("true" if "sync=true" in label else "false")
    return label.split(",")[0] if label else ""


def load(paths):
    """{(system, settings, load): [runs]} in first-seen order."""
    groups = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                run = json.loads(line)
                rate = run.get("offered_per_s") or run.get("rate") or 0
                load_ = "closed" if run.get("mode") == "closed" else "%d/s" % round(rate)
                groups.setdefault((run.get("system", "?"), settings_of(run), load_), []).append(run)
    return groups


def median(runs, *path):
    values = []
    for run in runs:
        v = run
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            values.append(float(v))
    return statistics.median(values) if values else None


def fmt(v, digits=1):
    return "—" if v is None else "{:,.{d}f}".format(v, d=digits)


def table(groups):
    rows = [
        "| system | settings | load | runs | receipted/s | delivered p50 ms | p99 ms | p99.9 ms "
        "| broker CPU s per 100k | broker peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (system, settings, load_), runs in groups.items():
        rows.append("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
            system, settings, load_, len(runs), fmt(median(runs, "receipted_per_s"), 0),
            fmt(median(runs, "delivered_ms", "p50"), 2), fmt(median(runs, "delivered_ms", "p99"), 2),
            fmt(median(runs, "delivered_ms", "p999"), 2), fmt(median(runs, "broker_cpu_s_per_100k"), 2),
            fmt(median(runs, "broker_peak_rss_mib"), 0)))
    return "\n".join(rows)


def plot(groups, png):
    names = []
    closed = []
    rates = sorted({l for (_, _, l) in groups if l != "closed"}, key=lambda s: float(s[:-2]))
    p99 = {}
    for (system, settings, load_), runs in groups.items():
        name = "%s (%s)" % (system, settings)
        if name not in names:
            names.append(name)
        if load_ == "closed":
            closed.append((name, median(runs, "receipted_per_s") or 0))
        else:
            p99[(name, load_)] = median(runs, "delivered_ms", "p99")
    with tempfile.TemporaryDirectory() as tmp:
        thr = os.path.join(tmp, "throughput.dat")
        with open(thr, "w", encoding="utf-8") as f:
            for i, (name, v) in enumerate(closed):
                f.write('%d "%s" %f\n' % (i, name.replace('"', "'"), v))
        lat = os.path.join(tmp, "p99.dat")
        with open(lat, "w", encoding="utf-8") as f:
            for i, name in enumerate(names):
                f.write('"%s"' % name.replace('"', "'"))
                for r in rates:
                    v = p99.get((name, r))
                    f.write(" %s" % ("NaN" if v is None else "%f" % v))
                f.write("\n")
        lat_plot = ", ".join("'%s' using %d:xtic(1) title 'delivered p99 at %s'" % (lat, 2 + i, r)
                             for i, r in enumerate(rates))
        script = f"""
set terminal pngcairo size 1400,900 font 'sans,10' noenhanced
set output '{png}'
set multiplot layout 2,1
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set xtics rotate by -20
set ylabel 'receipted (confirmed) commissions / s'
set yrange [0:*]
set title 'Saturation throughput, closed loop (median of runs), 2 cores, 1 KB commissions'
plot '{thr}' using 1:3:xtic(2) with boxes notitle
set style data histograms
set style histogram clustered gap 1
set yrange [*:*]
set logscale y
set ylabel 'submit to delivered, p99, ms (log)'
set title 'Latency at fixed offered rates (median of runs)'
plot {lat_plot}
unset multiplot
"""
        try:
            subprocess.run(["gnuplot"], input=script, text=True, check=True)
        except FileNotFoundError:
            sys.exit("compare_report.py: gnuplot is not installed (apt-get install -y gnuplot-nox)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="JSON-lines files from compare.sh")
    parser.add_argument("--png", help="write the plot here (gnuplot)")
    args = parser.parse_args()
    groups = load(args.runs)
    if not groups:
        sys.exit("compare_report.py: no runs in " + " ".join(args.runs))
    print(table(groups))
    if args.png:
        plot(groups, args.png)


if __name__ == "__main__":
    main()

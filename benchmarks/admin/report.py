#!/usr/bin/env python3
"""The analysis and the report of cexec-scaling (benchmarks/admin/cexec-scaling).

  report.py DIR                 redraw DIR's report (report.md, report.html, PNGs) from DIR/results.json
  report.py compare OLD NEW     the metrics of two reports side by side (folders or results.json files)

compute_metrics() turns the raw samples of results.json into the fixed list of metrics (METRICS):
each has a value (a container/native ratio, or ms for the projection), the native and container
figures behind it, the threshold it is judged against and a verdict (pass, warn, info), or a status
that says why it has no value (not run, not installed, failed, interrupted). matplotlib is imported
only to draw (Debian python3-matplotlib); without it the report says so and has no plots.
"""

import base64
import html
import io
import json
import math
import os
import sys

SCHEMA = 1
DEFAULT_THRESHOLDS = {
    "startup": 1.10,      # container/bare wall time, at most
    "latency": 1.10,      # container/native MPI latency, at most
    "bandwidth": 0.97,    # container/native MPI bandwidth, at least
    "collective": 1.10,   # container/native allreduce/alltoall time, at most
    "import": 1.10,       # container/host-tree import time, at most
    "application": 0.98,  # container/native application figure of merit, at least
}
UNITS = {
    "wall_s": "s (wall time of the whole srun or mpirun, from fork to exit)",
    "latency_us": "us (half a round trip, best window)",
    "bandwidth_MBps": "MB/s (10^6 bytes per second, ping-pong, best window)",
    "allreduce_us": "us per allreduce (best window; key: message bytes)",
    "alltoall_us": "us per alltoall (best window; key: bytes per pair of ranks)",
    "HPL_Tflops": "Tflop/s", "StarDGEMM_Gflops": "Gflop/s per rank", "StarSTREAM_Triad": "GB/s per rank",
    "PTRANS_GBs": "GB/s", "MPIRandomAccess_GUPs": "GUP/s", "MPIFFT_Gflops": "Gflop/s",
    "RandomlyOrderedRingBandwidth_GBytes": "GB/s per rank", "RandomlyOrderedRingLatency_usec": "us",
    "ratio": "container / native (x)",
}
CONTAINER_MPI = [("cexec-host-mpi", "host MPI injected"), ("cexec-image-mpi", "image MPI")]

# The fixed list: name -> (part, title, threshold name or None, kind). kind "time": lower is better
# (ratio = container/native time); "rate": higher is better (ratio = container/native rate).
METRICS = {
    "startup_srun_cexec": ("startup", "srun startup, cexec vs bare", "startup", "time"),
    "startup_srun_no_share": ("startup", "srun startup, cexec --no-share vs bare", "startup", "time"),
    "startup_srun_chrun": ("startup", "srun startup, ch-run vs bare (Charliecloud, for comparison)", None, "time"),
    "startup_mpirun_cexec": ("startup", "mpirun startup, cexec vs bare", "startup", "time"),
}
for _case, _label in (("intra", "within a node"), ("inter", "between nodes")):
    for _v, _vl in CONTAINER_MPI:
        _s = _v.split("-")[1]
        METRICS[f"mpi_latency_{_case}_{_s}_mpi"] = ("mpi", f"MPI 8 B latency {_label}, {_vl}", "latency", "time")
        METRICS[f"mpi_bandwidth_{_case}_{_s}_mpi"] = ("mpi", f"MPI 4 MiB bandwidth {_label}, {_vl}", "bandwidth", "rate")
for _v, _vl in CONTAINER_MPI:
    _s = _v.split("-")[1]
    METRICS[f"mpi_allreduce_{_s}_mpi"] = ("mpi", f"MPI allreduce 1 MiB across the allocation, {_vl}", "collective", "time")
    METRICS[f"mpi_alltoall_{_s}_mpi"] = ("mpi", f"MPI alltoall 64 KiB per pair across the allocation, {_vl}", "collective", "time")
METRICS.update({
    "import_warm": ("import", "import numpy on every rank, warm page cache, image vs host tree", "import", "time"),
    "import_cold": ("import", "import numpy on every rank, cold page cache, image vs host tree", "import", "time"),
    "app_hpl": ("app", "HPCC HPL (Tflop/s)", "application", "rate"),
    "app_dgemm": ("app", "HPCC StarDGEMM (Gflop/s per rank)", "application", "rate"),
    "app_stream": ("app", "HPCC StarSTREAM Triad (GB/s per rank)", "application", "rate"),
    "app_ptrans": ("app", "HPCC PTRANS (GB/s)", "application", "rate"),
    "app_randomaccess": ("app", "HPCC MPIRandomAccess (GUP/s)", "application", "rate"),
    "app_fft": ("app", "HPCC MPIFFT (Gflop/s)", "application", "rate"),
    "app_beff_bandwidth": ("app", "HPCC b_eff ring bandwidth (GB/s per rank)", "application", "rate"),
    "app_beff_latency": ("app", "HPCC b_eff ring latency (us)", "latency", "time"),
    "projection_overhead_256x64_ms": ("projection", "projected cexec startup overhead, 256 nodes x 64 ranks (ms)", None, "ms"),
})
APP_KEYS = {"app_hpl": "HPL_Tflops", "app_dgemm": "StarDGEMM_Gflops", "app_stream": "StarSTREAM_Triad",
            "app_ptrans": "PTRANS_GBs", "app_randomaccess": "MPIRandomAccess_GUPs", "app_fft": "MPIFFT_Gflops",
            "app_beff_bandwidth": "RandomlyOrderedRingBandwidth_GBytes",
            "app_beff_latency": "RandomlyOrderedRingLatency_usec"}
STARTUP_VARIANTS = {"startup_srun_cexec": ("srun", "cexec", "bare"), "startup_srun_no_share": ("srun", "cexec-no-share", "bare"),
                    "startup_srun_chrun": ("srun", "ch-run", "bare"), "startup_mpirun_cexec": ("mpirun", "mpirun-cexec", "mpirun-bare")}
PLOTS = ["startup_time", "startup_ratio", "mpi_latency", "mpi_bandwidth", "mpi_ratio", "mpi_collectives",
         "import_storm", "app_hpcc", "projection"]


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    i = (len(xs) - 1) * q
    lo, hi = int(math.floor(i)), int(math.ceil(i))
    return xs[lo] + (xs[hi] - xs[lo]) * (i - lo)


def samples(results, part, case=None, variant=None, ok=True, **fields):
    out = []
    for s in results.get("samples", []):
        if s["part"] != part or (case is not None and s["case"] != case) or (variant is not None and s["variant"] != variant):
            continue
        if ok is not None and s.get("ok") != ok:
            continue
        if any(s.get(k) != v for k, v in fields.items()):
            continue
        out.append(s)
    return out


def paired_ratio(a, b, value):
    """Median over repetitions of value(a)/value(b) for samples of the same repetition, and the
    ratio of the medians."""
    by_rep = {s["rep"]: value(s) for s in b if value(s)}
    ratios = [value(s) / by_rep[s["rep"]] for s in a if s["rep"] in by_rep and value(s) is not None]
    med_a, med_b = median([value(s) for s in a]), median([value(s) for s in b])
    return median(ratios), (med_a / med_b if med_a is not None and med_b else None), med_a, med_b


def figure(path):
    def get(s):
        v = s.get("figures", {})
        for p in path:
            if not isinstance(v, dict) or p not in v:
                return None
            v = v[p]
        return v
    return get


def wall(s):
    return s["wall_s"]


def verdict(value, threshold, kind):
    if value is None or threshold is None:
        return "info"
    if kind == "time":
        return "pass" if value <= threshold else "warn"
    return "pass" if value >= threshold else "warn"


def startup_points(results, case):
    """(nodes, ranks per node) of the points measured for CASE, sorted by ranks."""
    pts = {(s["nodes"], s["ranks_per_node"]) for s in samples(results, "startup", case, ok=None)}
    return sorted(pts, key=lambda p: (p[0] * p[1], p[0]))


def compute_metrics(results):
    th = {**DEFAULT_THRESHOLDS, **results.get("thresholds", {})}
    parts = results.get("parts", {})
    machine = results.get("machine", {})
    metrics = {}

    def missing(part):
        pr = parts.get(part, {})
        st = pr.get("status", "pending")
        if st in ("done",):
            return None
        if st == "failed":
            return f"failed: {pr.get('reason', '')}"
        if st == "skipped":
            return f"not run: {pr.get('reason', 'skipped')}"
        if st in ("interrupted", "running"):
            return f"not finished: {st}" + (f" ({results.get('interrupted')})" if results.get("interrupted") else "")
        return f"not run: {pr.get('reason', st)}"

    def put(name, value=None, native=None, container=None, unit=None, status="measured", reason="", point="", extra=None):
        part, title, tname, kind = METRICS[name]
        t = th.get(tname) if tname else None
        m = {"part": part, "title": title, "value": value, "unit": unit or ("x" if kind != "ms" else "ms"),
             "native": native, "container": container, "threshold_name": tname, "threshold": t,
             "threshold_rule": None if t is None else (f"<= {t}" if kind == "time" else f">= {t}"),
             "verdict": verdict(value, t, kind) if value is not None else "n/a",
             "status": status if value is not None or status != "measured" else "no data", "reason": reason,
             "point": point}
        if extra:
            m.update(extra)
        metrics[name] = m

    def absent(name, part, variant_status=None):
        why = missing(part)
        if why is None:
            why = variant_status or "no data"
        status = "failed" if why.startswith("failed") else why.split(":")[0]
        put(name, status=status, reason=why)

    def failed_reason(ss):
        bad = [s for s in ss if not s.get("ok")]
        return f"failed in all {len(bad)} runs: {bad[0].get('error', '')}" if bad else None

    # startup
    for name, (case, var, base) in STARTUP_VARIANTS.items():
        pts = startup_points(results, case)
        rows = []
        for k, r in pts:
            a = samples(results, "startup", case, var, nodes=k, ranks_per_node=r)
            b = samples(results, "startup", case, base, nodes=k, ranks_per_node=r)
            if a and b:
                pr, rm, ma, mb = paired_ratio(a, b, wall)
                rows.append({"nodes": k, "ranks_per_node": r, "ratio": pr, "ratio_of_medians": rm,
                             "container_s": ma, "native_s": mb, "n": min(len(a), len(b))})
        if rows:
            last = rows[-1]
            worst = max(rows, key=lambda x: x["ratio"])
            put(name, round(last["ratio"], 4), last["native_s"], last["container_s"], point=(
                f"{last['nodes']} node(s) x {last['ranks_per_node']} per node; worst {worst['ratio']:.2f}x at "
                f"{worst['nodes']} x {worst['ranks_per_node']}"), extra={"points": rows, "native_unit": "s"})
        else:
            allv = samples(results, "startup", case, var, ok=None)
            if var == "ch-run" and str(machine.get("ch-run", "")).startswith("not installed") and missing("startup") is None:
                put(name, status="not installed", reason="ch-run is not installed (Debian charliecloud-runtime)")
            else:
                absent(name, "startup", failed_reason(allv) or (f"not measured" if missing("startup") is None else None))

    # mpi
    def mpi_metric(name, case, var, fig, key, unit):
        a = samples(results, "mpi", case, var)
        b = samples(results, "mpi", case, "native")
        f = figure([fig, key])
        if a and b and any(f(s) is not None for s in a) and any(f(s) is not None for s in b):
            pr, rm, ma, mb = paired_ratio(a, b, f)
            put(name, round(pr if pr is not None else rm, 4), mb, ma, point=f"{case}, {key} B", extra={"native_unit": unit})
        else:
            allv = samples(results, "mpi", case, var, ok=None) + samples(results, "mpi", case, "native", ok=None)
            reason = failed_reason(allv)
            if case == "inter-node" and not allv and missing("mpi") is None:
                reason = "not run: one node in the allocation"
            absent(name, "mpi", reason)

    for case, c in (("intra-node", "intra"), ("inter-node", "inter")):
        for v, _ in CONTAINER_MPI:
            s = v.split("-")[1]
            mpi_metric(f"mpi_latency_{c}_{s}_mpi", case, v, "latency_us", "8", "us")
            mpi_metric(f"mpi_bandwidth_{c}_{s}_mpi", case, v, "bandwidth_MBps", "4194304", "MB/s")
    for v, _ in CONTAINER_MPI:
        s = v.split("-")[1]
        mpi_metric(f"mpi_allreduce_{s}_mpi", "collectives", v, "allreduce_us", "1048576", "us")
        mpi_metric(f"mpi_alltoall_{s}_mpi", "collectives", v, "alltoall_us", "65536", "us")

    # import storm
    for cache in ("warm", "cold"):
        name = f"import_{cache}"
        nodes = sorted({s["nodes"] for s in samples(results, "import", cache, ok=None)})
        k = nodes[-1] if nodes else None
        a = samples(results, "import", cache, "cexec", nodes=k)
        b = samples(results, "import", cache, "host-tree", nodes=k)
        if a and b:
            pr, rm, ma, mb = paired_ratio(a, b, wall)
            put(name, round(pr, 4), mb, ma, point=f"{k} node(s) x {a[0]['ranks_per_node']} per node",
                extra={"native_unit": "s"})
        elif cache == "cold" and missing("import") is None and not samples(results, "import", cache, ok=None):
            put(name, status="not allowed", reason=str(machine.get("drop_caches", "the page cache could not be dropped")))
        else:
            absent(name, "import", failed_reason(samples(results, "import", cache, ok=None)))

    # application
    for name, key in APP_KEYS.items():
        a = samples(results, "app", "hpcc", "cexec")
        b = samples(results, "app", "hpcc", "native")
        f = figure([key])
        if a and b and any(f(s) for s in a) and any(f(s) for s in b):
            pr, rm, ma, mb = paired_ratio(a, b, f)
            put(name, round(pr if pr is not None else rm, 4), mb, ma, point=UNITS.get(key, ""),
                extra={"native_unit": UNITS.get(key, "")})
        elif a and not b and missing("app") is None and not samples(results, "app", "hpcc", "native", ok=None):
            put(name, status="not installed", reason="hpcc is not installed on the host: no native figure",
                extra={"container": median([f(s) for s in a])})
        else:
            absent(name, "app", failed_reason(samples(results, "app", "hpcc", ok=None)))

    # projection
    proj = projection(results)
    if proj and proj.get("overhead_ms") is not None:
        put("projection_overhead_256x64_ms", round(proj["overhead_ms"], 1), unit="ms", point=proj["formula"],
            extra={"model": proj})
    else:
        absent("projection_overhead_256x64_ms", "startup", (proj or {}).get("reason", "no startup points at one node"))
    return metrics


def projection(results, target_nodes=256, target_rpn=64):
    """The model of RESULTS.md ("Multi-node", 4): overhead(N, r) = C_node + ceil(r/P) c_rank +
    sigma_node sqrt(2 ln N), fitted on the one-node points of the srun startup."""
    cores = results.get("machine", {}).get("cores_per_node") or 1
    rows = []
    for k, r in startup_points(results, "srun"):
        if k != 1:
            continue
        a = samples(results, "startup", "srun", "cexec", nodes=1, ranks_per_node=r)
        b = samples(results, "startup", "srun", "bare", nodes=1, ranks_per_node=r)
        by_rep = {s["rep"]: s["wall_s"] for s in b}
        diffs = [s["wall_s"] - by_rep[s["rep"]] for s in a if s["rep"] in by_rep]
        if diffs:
            rows.append((r, median(diffs), quantile(diffs, 0.9)))
    if not rows:
        return {"reason": "no one-node startup points"}
    xs = [math.ceil(r / cores) for r, _, _ in rows]
    ys = [d for _, d, _ in rows]
    if len(set(xs)) >= 2:
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        c_rank = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        c_rank = max(c_rank, 0.0)
        c_node = max(my - c_rank * mx, 0.0)
        how = "least squares over the one-node points"
    else:
        c_rank = 0.0
        c_node = sum(ys) / len(ys)
        how = f"one value of ceil(r/P) measured (P = {cores}): c_rank not separable, taken as 0"
    sig = median([max(p90 - d, 0.0) / 1.28 for _, d, p90 in rows]) or 0.0

    def model(n, r):
        return c_node + math.ceil(r / cores) * c_rank + sig * math.sqrt(2 * math.log(n)) if n >= 1 else None

    measured = []
    for k, r in startup_points(results, "srun"):
        a = samples(results, "startup", "srun", "cexec", nodes=k, ranks_per_node=r)
        b = samples(results, "startup", "srun", "bare", nodes=k, ranks_per_node=r)
        by_rep = {s["rep"]: s["wall_s"] for s in b}
        diffs = [s["wall_s"] - by_rep[s["rep"]] for s in a if s["rep"] in by_rep]
        if diffs:
            measured.append({"nodes": k, "ranks_per_node": r, "overhead_s": median(diffs),
                             "model_s": model(k, r), "bare_s": median([s["wall_s"] for s in b])})
    return {"C_node_s": c_node, "c_rank_s": c_rank, "sigma_node_s": sig, "P_cores_per_node": cores, "fit": how,
            "target": f"{target_nodes} x {target_rpn}", "overhead_ms": model(target_nodes, target_rpn) * 1000,
            "formula": (f"C_node {c_node * 1000:.0f} ms + ceil(r/{cores}) x c_rank {c_rank * 1000:.1f} ms + "
                        f"sigma {sig * 1000:.0f} ms x sqrt(2 ln N)"),
            "measured": measured}


# ---- plots ------------------------------------------------------------------------------------


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_all(out, results, metrics):
    """Draws every plot it has data for; returns {name: (path, caption)} and {name: why not}."""
    plt = _plt()
    made, skipped = {}, {}
    for name in PLOTS:
        fn = globals()["plot_" + name]
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=90)
        try:
            caption = fn(ax, results, metrics)
        except Exception as e:  # one plot's bad data must not cost the others
            caption = None
            skipped[name] = f"could not be drawn: {e!r}"
        if caption:
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_yscale() == "log":
                # Plain numbers; within less than a decade and a half the minor ticks get labels too.
                from matplotlib.ticker import FuncFormatter, NullFormatter
                ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                lo, hi = ax.get_ylim()
                ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}") if lo > 0 and hi / lo < 30
                                             else NullFormatter())
            fig.tight_layout()
            path = os.path.join(out, name + ".png")
            fig.savefig(path, format="png", bbox_inches="tight")  # legends below the axes included
            made[name] = (path, caption)
        elif name not in skipped:
            skipped[name] = "no data"
        plt.close(fig)
    for name in PLOTS:  # a plot from an earlier write that has no data now is stale
        if name not in made and os.path.exists(os.path.join(out, name + ".png")):
            os.remove(os.path.join(out, name + ".png"))
    return made, skipped


STYLE = {"bare": ("black", "o"), "cexec": ("tab:blue", "s"), "cexec-no-share": ("tab:orange", "^"),
         "ch-run": ("tab:green", "D"), "mpirun-bare": ("gray", "o"), "mpirun-cexec": ("tab:purple", "s"),
         "native": ("black", "o"), "cexec-host-mpi": ("tab:blue", "s"), "cexec-image-mpi": ("tab:red", "^"),
         "host-tree": ("black", "o")}


def _series(results, case, variant, nodes=None):
    pts = []
    for k, r in startup_points(results, case):
        if nodes is not None and k != nodes:
            continue
        ss = samples(results, "startup", case, variant, nodes=k, ranks_per_node=r)
        if ss:
            w = [s["wall_s"] * 1000 for s in ss]
            pts.append((k * r, median(w), quantile(w, 0.1), quantile(w, 0.9)))
    return pts


def plot_startup_time(ax, results, metrics):
    nodes = max([k for k, _ in startup_points(results, "srun")] or [0])
    if not nodes:
        return None
    drawn = False
    for case, variants in (("srun", ["bare", "cexec", "cexec-no-share", "ch-run"]), ("mpirun", ["mpirun-bare", "mpirun-cexec"])):
        for v in variants:
            pts = _series(results, case, v, nodes)
            if not pts:
                continue
            c, mk = STYLE[v]
            x = [p[0] for p in pts]
            ax.errorbar(x, [p[1] for p in pts], yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
                        color=c, marker=mk, linestyle="-" if case == "srun" else "--", capsize=3,
                        label=(f"srun {v}" if case == "srun" else v.replace("-", " ")))
            drawn = True
    if not drawn:
        return None
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"ranks ({nodes} node(s), ranks per node varied)")
    ax.set_ylabel("launch wall time, median (ms)")
    ax.set_title(f"Startup of /bin/true on {nodes} node(s): bare vs containers")
    ax.legend(fontsize=8)
    m = metrics.get("startup_srun_cexec", {})
    return (f"Median wall time of one whole launch (srun or mpirun, fork to exit) of /bin/true on all {nodes} nodes "
            f"against the number of ranks; bars p10-p90. cexec/bare at the largest point: "
            f"{_fmt(m.get('value'))}x.")


def plot_startup_ratio(ax, results, metrics):
    th = metrics.get("startup_srun_cexec", {}).get("threshold")
    drawn = False
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    for name, (case, var, base) in STARTUP_VARIANTS.items():
        pts = metrics.get(name, {}).get("points") or []
        if not pts:
            continue
        c, _ = STYLE[var]
        nodes = sorted({p["nodes"] for p in pts})
        for i, k in enumerate(nodes):
            sel = [p for p in pts if p["nodes"] == k]
            ax.plot([p["nodes"] * p["ranks_per_node"] for p in sel], [p["ratio"] for p in sel], color=c,
                    marker=markers[i % len(markers)], linestyle="-" if case == "srun" else "--",
                    label=f"{var} / {base}, {k} node(s)")
        drawn = True
    if not drawn:
        return None
    if th:
        ax.axhline(th, color="red", linestyle=":", label=f"threshold {th}x")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("ranks (nodes x ranks per node)")
    ax.set_ylabel("container / bare wall time (x, paired median)")
    ax.set_title("Startup overhead ratio against ranks")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return ("Container launch time over the bare launch of the same repetition (median of the per-repetition "
            "ratios) at every point of the grid; the dotted red line is the admin's threshold.")


def _mpi_series(results, case, variant, fig):
    ss = samples(results, "mpi", case, variant)
    sizes = sorted({int(k) for s in ss for k in s.get("figures", {}).get(fig, {})})
    return [(b, median([s["figures"][fig].get(str(b)) for s in ss if fig in s.get("figures", {})])) for b in sizes]


def _plot_sweep(ax, results, fig, ylabel, title):
    drawn = False
    for case, ls in (("intra-node", "-"), ("inter-node", "--")):
        for v in ("native", "cexec-host-mpi", "cexec-image-mpi"):
            pts = [p for p in _mpi_series(results, case, v, fig) if p[1] is not None]
            if not pts:
                continue
            c, mk = STYLE[v]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=c, marker=mk, linestyle=ls, label=f"{case} {v}")
            drawn = True
    if not drawn:
        return False
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return True


def plot_mpi_latency(ax, results, metrics):
    if not _plot_sweep(ax, results, "latency_us", "latency, half round trip (us)", "MPI ping-pong latency: container vs native"):
        return None
    return ("Ping-pong between ranks 0 and 1 (bench_mpi_sweep), median over repetitions of the best window; "
            "solid within a node, dashed between nodes.")


def plot_mpi_bandwidth(ax, results, metrics):
    if not _plot_sweep(ax, results, "bandwidth_MBps", "bandwidth (MB/s)", "MPI ping-pong bandwidth: container vs native"):
        return None
    return "Ping-pong bandwidth (2 x size per round trip); solid within a node, dashed between nodes."


def plot_mpi_ratio(ax, results, metrics):
    drawn = False
    for case, ls in (("intra-node", "-"), ("inter-node", "--")):
        nat = dict(_mpi_series(results, case, "native", "bandwidth_MBps"))
        for v in ("cexec-host-mpi", "cexec-image-mpi"):
            pts = [(b, y / nat[b]) for b, y in _mpi_series(results, case, v, "bandwidth_MBps") if y and nat.get(b)]
            if pts:
                c, mk = STYLE[v]
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color=c, marker=mk, linestyle=ls, label=f"{case} {v}")
                drawn = True
    if not drawn:
        return None
    th = metrics.get("mpi_bandwidth_intra_host_mpi", {}).get("threshold")
    if th:
        ax.axhline(th, color="red", linestyle=":", label=f"threshold {th}x")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("container / native bandwidth (x)")
    ax.set_title("MPI bandwidth ratio against message size")
    ax.legend(fontsize=7)
    return "Container bandwidth over native bandwidth (ratio of medians) per message size; above the red line passes."


def plot_mpi_collectives(ax, results, metrics):
    labels, groups = [], {}
    for fig, name in (("allreduce_us", "allreduce"), ("alltoall_us", "alltoall")):
        for v in ("native", "cexec-host-mpi", "cexec-image-mpi"):
            for b, y in _mpi_series(results, "collectives", v, fig):
                key = f"{name}\n{_bytes(b)}"
                if key not in labels:
                    labels.append(key)
                groups.setdefault(v, {})[key] = y
    if not labels:
        return None
    width = 0.8 / max(len(groups), 1)
    for i, (v, ys) in enumerate(groups.items()):
        ax.bar([j + i * width for j in range(len(labels))], [ys.get(lb) or 0 for lb in labels], width,
               color=STYLE[v][0], label=v)
    ax.set_xticks([j + width * (len(groups) - 1) / 2 for j in range(len(labels))])
    ax.set_xticklabels(labels)
    ax.set_yscale("log")
    ax.set_ylabel("time per operation (us, best window, median)")
    case = results.get("parts", {}).get("mpi", {}).get("cases", {}).get("collectives", {})
    ax.set_title(f"Collectives across the allocation ({case.get('nodes', '?')} nodes x {case.get('ranks_per_node', '?')})")
    ax.legend(fontsize=8)
    return "Allreduce (message bytes) and alltoall (bytes per pair of ranks) over every rank; lower is better."


def plot_import_storm(ax, results, metrics):
    labels, vals, errs, colors = [], [], [], []
    for cache in ("warm", "cold"):
        nodes = sorted({s["nodes"] for s in samples(results, "import", cache, ok=None)})
        for k in nodes:
            for v in ("host-tree", "cexec"):
                ss = samples(results, "import", cache, v, nodes=k)
                if not ss:
                    continue
                w = [s["wall_s"] for s in ss]
                labels.append(f"{cache}\n{k} node(s)\n{v}")
                vals.append(median(w))
                errs.append([median(w) - quantile(w, 0.1), quantile(w, 0.9) - median(w)])
                colors.append(STYLE["host-tree" if v == "host-tree" else "cexec"][0])
    if not labels:
        return None
    ax.bar(range(len(labels)), vals, color=colors, yerr=list(zip(*errs)), capsize=3)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("wall time of the whole srun (s, median)")
    setup = results.get("parts", {}).get("import", {}).get("setup", {})
    ax.set_title(f"Import storm: numpy on every rank ({setup.get('ranks_per_node', '?')} per node)")
    return ("Every rank runs `python3 -c 'import numpy'`: from the SquashFS image through cexec (blue) against the "
            "same tree unpacked on the host's disk, run with the tree's own loader and python (black). The cexec bars "
            "include cexec's own startup (the startup plots).")


def plot_app_hpcc(ax, results, metrics):
    names = [n for n in APP_KEYS if metrics.get(n, {}).get("value") is not None]
    if not names:
        return None
    vals = [metrics[n]["value"] if METRICS[n][3] == "rate" else 1 / metrics[n]["value"] for n in names]
    ax.bar(range(len(names)), vals, color=["tab:blue" if v >= 1 else "tab:orange" for v in vals])
    th = metrics[names[0]].get("threshold")
    if th:
        ax.axhline(th, color="red", linestyle=":", label=f"threshold {th}x")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([APP_KEYS[n].split("_")[0].replace("RandomlyOrderedRing", "b_eff ring ") for n in names],
                       rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log", base=2)
    ax.set_ylabel("container / native performance (x, log)")
    setup = results.get("parts", {}).get("app", {}).get("setup", {})
    ax.set_title(f"HPCC in the container vs native ({setup.get('nodes', '?')} x {setup.get('ranks_per_node', '?')} ranks, N={setup.get('N', '?')})")
    ax.legend(fontsize=8)
    return "Each HPCC figure of merit, container over native (for the ring latency, native over container): above 1 the container is faster."


def plot_projection(ax, results, metrics):
    proj = metrics.get("projection_overhead_256x64_ms", {}).get("model")
    if not proj:
        return None
    cores = proj["P_cores_per_node"]
    meas = proj["measured"]
    rs = sorted({m["ranks_per_node"] for m in meas} | {64})
    nmax = max(256, max(m["nodes"] for m in meas))
    ns = [2 ** (i / 4) for i in range(0, int(4 * math.log2(nmax)) + 1)]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "gray"]
    for i, r in enumerate(rs):
        c = colors[i % len(colors)]
        y = [(proj["C_node_s"] + math.ceil(r / cores) * proj["c_rank_s"] + proj["sigma_node_s"] * math.sqrt(2 * math.log(n))) * 1000 for n in ns]
        ax.plot(ns, y, color=c, linestyle="-", label=f"model, r = {r}")
        pts = [m for m in meas if m["ranks_per_node"] == r]
        if pts:
            ax.plot([m["nodes"] for m in pts], [max(m["overhead_s"] * 1000, 0.1) for m in pts], color=c, marker="o",
                    linestyle="none", label=f"measured, r = {r}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("nodes N")
    ax.set_ylabel("cexec startup overhead over bare srun (ms)")
    ax.set_title("Startup overhead: projection model vs measured")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return (f"overhead(N, r) = {proj['formula']} (RESULTS.md, Multi-node), fitted on the one-node points ({proj['fit']}); "
            f"dots: measured median overhead (cexec minus bare, same repetition). Projected at 256 x 64: "
            f"{proj['overhead_ms']:.0f} ms.")


def _bytes(b):
    b = int(b)
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= size and b % size == 0:
            return f"{b // size} {unit}"
    return f"{b} B"


def _fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:.0f}"
        return f"{v:.{digits}g}"
    return str(v)


# ---- report -----------------------------------------------------------------------------------


def unfinished(results):
    """Lines naming every part or metric that did not finish, and why."""
    lines = []
    if results.get("interrupted"):
        lines.append(f"The run was interrupted ({results['interrupted']}): what follows is what finished before.")
    elif not results.get("complete"):
        lines.append("The run has not finished (or was killed without a chance to say so): this report is partial.")
    for p, pr in results.get("parts", {}).items():
        if pr.get("status") not in ("done", "skipped"):
            lines.append(f"part {p}: {pr.get('status')}" + (f" ({pr['reason']})" if pr.get("reason") else ""))
        elif pr.get("failed_runs"):
            lines.append(f"part {p}: {pr['failed_runs']} run(s) failed and are not counted (see the tables)")
    return lines


def summary_rows(metrics):
    rows = []
    for name in METRICS:
        m = metrics.get(name)
        if not m:
            continue
        v = m["value"]
        rows.append({"name": name, "title": m["title"], "value": "-" if v is None else f"{_fmt(v)} {m['unit']}",
                     "native": _fmt(m.get("native")), "container": _fmt(m.get("container")),
                     "threshold": m.get("threshold_rule") or "-",
                     "verdict": m["verdict"] if v is not None else m["status"],
                     "note": m.get("reason") or m.get("point") or ""})
    return rows


def details_md(results, metrics):
    out = []
    st = [m for m in ("startup_srun_cexec", "startup_srun_no_share", "startup_srun_chrun", "startup_mpirun_cexec")
          if metrics.get(m, {}).get("points")]
    for case in ("srun", "mpirun"):
        rows = [m for m in st if STARTUP_VARIANTS[m][0] == case]
        if not rows:
            continue
        points = [(p["nodes"], p["ranks_per_node"]) for p in metrics[rows[0]]["points"]]
        out.append(f"### Startup points, {case} (nodes x ranks per node: median wall ms bare / container, paired ratio)\n")
        out.append("| variant | " + " | ".join(f"{k}x{r}" for k, r in points) + " |")
        out.append("|---|" + "---|" * len(points))
        for m in rows:
            by_point = {(p["nodes"], p["ranks_per_node"]): p for p in metrics[m]["points"]}
            cells = []
            for pt in points:
                p = by_point.get(pt)
                cells.append(f"{p['native_s'] * 1000:.0f} / {p['container_s'] * 1000:.0f} ({p['ratio']:.2f}x)" if p else "-")
            out.append(f"| {STARTUP_VARIANTS[m][1]} | " + " | ".join(cells) + " |")
        out.append("")
    cases = results.get("parts", {}).get("mpi", {}).get("cases", {})
    for case in ("intra-node", "inter-node"):
        nat = dict(_mpi_series(results, case, "native", "latency_us"))
        if not nat:
            continue
        out.append(f"### MPI {case} ({cases.get(case, {}).get('nodes', '?')} node(s)): latency us / bandwidth MB/s, medians\n")
        out.append("| size | native | host MPI injected | image MPI |")
        out.append("|---|---|---|---|")
        series = {v: (dict(_mpi_series(results, case, v, "latency_us")), dict(_mpi_series(results, case, v, "bandwidth_MBps")))
                  for v in ("native", "cexec-host-mpi", "cexec-image-mpi")}
        for b in sorted(nat):
            out.append(f"| {_bytes(b)} | " + " | ".join(
                f"{_fmt(series[v][0].get(b))} / {_fmt(series[v][1].get(b))}" for v in series) + " |")
        out.append("")
    imp = [s for s in results.get("samples", []) if s["part"] == "import"]
    if imp:
        out.append("### Import storm (median wall s of the whole srun)\n")
        out.append("| cache | nodes | host tree | cexec image |")
        out.append("|---|---|---|---|")
        for cache in ("warm", "cold"):
            for k in sorted({s["nodes"] for s in imp if s["case"] == cache}):
                vals = [median([s["wall_s"] for s in samples(results, "import", cache, v, nodes=k)]) for v in ("host-tree", "cexec")]
                out.append(f"| {cache} | {k} | {_fmt(vals[0])} | {_fmt(vals[1])} |")
        out.append("")
    app = [n for n in APP_KEYS if metrics.get(n, {}).get("native") is not None or metrics.get(n, {}).get("container") is not None]
    if app:
        out.append("### HPCC (medians)\n")
        out.append("| figure | unit | native | container | ratio |")
        out.append("|---|---|---|---|---|")
        for n in app:
            m = metrics[n]
            out.append(f"| {APP_KEYS[n]} | {UNITS.get(APP_KEYS[n], '')} | {_fmt(m.get('native'))} | {_fmt(m.get('container'))} | {_fmt(m.get('value'))} |")
        out.append("")
    failed = [s for s in results.get("samples", []) if not s.get("ok")]
    if failed:
        out.append(f"### Failed runs ({len(failed)}, not counted)\n")
        for s in failed[:20]:
            out.append(f"- {s['part']} {s['case']} {s['variant']} rep {s['rep'] + 1}: status {s['status']}: `{s.get('error', '')[:200]}`")
        if len(failed) > 20:
            out.append(f"- ... and {len(failed) - 20} more (results.json)")
        out.append("")
    return "\n".join(out)


def write_report(out, results):
    metrics = results.get("metrics") or compute_metrics(results)
    try:
        made, skipped = plot_all(out, results, metrics)
        plot_note = None
    except ImportError as e:
        made, skipped = {}, {}
        plot_note = f"No plots: matplotlib is not installed ({e}); apt-get install python3-matplotlib, then `report.py {out}`."
    m = results.get("machine", {})
    s = results.get("settings", {})
    counts = {}
    for r in summary_rows(metrics):
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    head = [
        f"Started {results.get('started')}, finished {results.get('finished') or '(running)'}; "
        f"{'complete' if results.get('complete') else 'PARTIAL'}. Nodes: {m.get('nodes', '?')}; image {m.get('image', s.get('image'))}.",
        f"cexec: {str(m.get('cexec', '?')).splitlines()[0] if m.get('cexec') else '?'}; "
        f"{'quick mode, ' if s.get('quick') else ''}{s.get('reps')} repetitions per startup/import point, "
        f"{s.get('mpi_reps')} per MPI run, {s.get('app_reps')} per application run, interleaved; "
        f"load {m.get('load_start', '?')} at the start, {m.get('load_end', '?')} at the end.",
        "Verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())) + ".",
    ]
    unf = unfinished(results)
    # markdown
    md = ["# cexec scaling report", ""] + head + [""]
    if unf:
        md += ["**Did not finish (or failed):**", ""] + [f"- {x}" for x in unf] + [""]
    if plot_note:
        md += [plot_note, ""]
    md += ["## Summary", "",
           "Ratios are container / native (time: lower is better; bandwidth and application: higher is better), "
           "the median over repetitions of the ratio within each repetition.", "",
           "| metric | ratio | native | container | threshold | verdict | point / note |", "|---|---|---|---|---|---|---|"]
    for r in summary_rows(metrics):
        md.append(f"| {r['title']} | {r['value']} | {r['native']} | {r['container']} | {r['threshold']} | "
                  f"**{r['verdict']}** | {r['note'].replace('|', '/')} |")
    md += ["", "Units of the native and container columns: startup and import in s (whole launch), MPI latency and "
           "collectives in us, bandwidth in MB/s, HPCC in its own units (tables below); results.json holds every run.", ""]
    notes = results.get("notes") or []
    if notes:
        md += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    md += ["## Plots", ""]
    for name in PLOTS:
        if name in made:
            md += [f"### {name}", "", f"![{name}]({name}.png)", "", made[name][1], ""]
        else:
            md += [f"### {name}", "", f"(no plot: {skipped.get(name, 'no data')})", ""]
    md += ["## Details", "", details_md(results, metrics), "## Machine", "", "```"]
    for k, v in m.items():
        md.append(f"{k}: {v}" if not isinstance(v, list) else f"{k}:\n  " + "\n  ".join(map(str, v)))
    md += ["```", ""]
    text = "\n".join(md)
    with open(os.path.join(out, ".report.md.tmp"), "w") as f:
        f.write(text)
    os.replace(os.path.join(out, ".report.md.tmp"), os.path.join(out, "report.md"))
    # html
    e = html.escape
    h = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>cexec scaling report</title><style>",
         "body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em}"
         "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #bbb;padding:3px 6px;text-align:left}"
         ".pass{background:#d4f4d4}.warn{background:#ffe0b0}.info{background:#eef}.na{background:#eee}"
         ".unf{background:#fff3f3;border:1px solid #d99;padding:0.5em}img{max-width:100%}pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}",
         "</style></head><body><h1>cexec scaling report</h1>"]
    h += [f"<p>{e(x)}</p>" for x in head]
    if unf:
        h.append("<div class='unf'><b>Did not finish (or failed):</b><ul>" + "".join(f"<li>{e(x)}</li>" for x in unf) + "</ul></div>")
    if plot_note:
        h.append(f"<p>{e(plot_note)}</p>")
    h.append("<h2>Summary</h2><p>Ratios are container / native (time: lower is better; bandwidth and application: "
             "higher is better), the median over repetitions of the ratio within each repetition.</p>"
             "<table><tr><th>metric</th><th>ratio</th><th>native</th><th>container</th><th>threshold</th><th>verdict</th><th>point / note</th></tr>")
    for r in summary_rows(metrics):
        cls = r["verdict"] if r["verdict"] in ("pass", "warn", "info") else "na"
        h.append(f"<tr><td>{e(r['title'])}</td><td>{e(r['value'])}</td><td>{e(r['native'])}</td><td>{e(r['container'])}</td>"
                 f"<td>{e(r['threshold'])}</td><td class='{cls}'><b>{e(r['verdict'])}</b></td><td>{e(r['note'])}</td></tr>")
    h.append("</table>")
    if notes:
        h.append("<p>Notes:</p><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    h.append("<h2>Plots</h2>")
    for name in PLOTS:
        h.append(f"<h3>{e(name)}</h3>")
        if name in made:
            with open(made[name][0], "rb") as f:
                data = base64.b64encode(f.read()).decode()
            h.append(f"<img alt='{e(name)}' src='data:image/png;base64,{data}'><p>{e(made[name][1])}</p>")
        else:
            h.append(f"<p>(no plot: {e(skipped.get(name, 'no data'))})</p>")
    h.append("<h2>Details</h2>" + _md_tables_to_html(details_md(results, metrics)))
    h.append("<h2>Machine</h2><pre>" + e("\n".join(f"{k}: {v}" for k, v in m.items())) + "</pre></body></html>")
    with open(os.path.join(out, ".report.html.tmp"), "w") as f:
        f.write("\n".join(h))
    os.replace(os.path.join(out, ".report.html.tmp"), os.path.join(out, "report.html"))


def _md_tables_to_html(text):
    e = html.escape
    out, in_table = [], False
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-") for c in cells):
                continue
            if not in_table:
                out.append("<table>")
                in_table = True
            out.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if line.startswith("### "):
            out.append(f"<h3>{e(line[4:])}</h3>")
        elif line.startswith("- "):
            out.append(f"<p>{e(line[2:])}</p>")
        elif line.strip():
            out.append(f"<p>{e(line)}</p>")
    if in_table:
        out.append("</table>")
    return "\n".join(out)


# ---- compare ----------------------------------------------------------------------------------


def _load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as f:
        r = json.load(f)
    return r, r.get("metrics") or compute_metrics(r)


def compare(old, new):
    ro, mo = _load(old)
    rn, mn = _load(new)
    lines = [f"# cexec-scaling: {old} -> {new}", "",
             f"old: {ro.get('started')}, {ro.get('machine', {}).get('nodes', '?')} nodes, "
             f"{str(ro.get('machine', {}).get('cexec', '?')).splitlines()[0] if ro.get('machine', {}).get('cexec') else '?'}",
             f"new: {rn.get('started')}, {rn.get('machine', {}).get('nodes', '?')} nodes, "
             f"{str(rn.get('machine', {}).get('cexec', '?')).splitlines()[0] if rn.get('machine', {}).get('cexec') else '?'}", "",
             "| metric | old | new | new / old | old verdict | new verdict |", "|---|---|---|---|---|---|"]
    for name in METRICS:
        a, b = mo.get(name, {}), mn.get(name, {})
        va, vb = a.get("value"), b.get("value")
        change = f"{vb / va:.3f}" if va and vb else "-"
        lines.append(f"| {name} | {_fmt(va)} | {_fmt(vb)} | {change} | {a.get('verdict', '-') if va is not None else a.get('status', '-')} | "
                     f"{b.get('verdict', '-') if vb is not None else b.get('status', '-')} |")
    flips = [n for n in METRICS if mo.get(n, {}).get("verdict") == "pass" and mn.get(n, {}).get("verdict") == "warn"]
    lines += ["", f"pass -> warn: {', '.join(flips) if flips else 'none'}"]
    return "\n".join(lines)


def main(argv):
    if len(argv) == 4 and argv[1] == "compare":
        print(compare(argv[2], argv[3]))
        return 0
    if len(argv) == 2 and os.path.isdir(argv[1]):
        with open(os.path.join(argv[1], "results.json")) as f:
            results = json.load(f)
        results["metrics"] = compute_metrics(results)
        write_report(argv[1], results)
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))

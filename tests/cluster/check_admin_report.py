#!/usr/bin/python3
"""Checks a report folder of benchmarks/admin/cexec-scaling (tests/cluster/admin_scaling_test.sh).
  check_admin_report.py DIR complete|interrupted|failing
complete: every file, every plot a valid PNG, every metric of the fixed list below in results.json
with a value (or, for the two that depend on the machine, a stated reason); interrupted: the report
names the interrupted and unfinished parts; failing: the report names the failed variants."""
import json
import os
import sys

# The fixed list: a metric that disappears from results.json fails the test.
METRICS = [
    "startup_srun_cexec", "startup_srun_no_share", "startup_srun_chrun", "startup_mpirun_cexec",
    "mpi_latency_intra_host_mpi", "mpi_bandwidth_intra_host_mpi", "mpi_latency_intra_image_mpi",
    "mpi_bandwidth_intra_image_mpi", "mpi_latency_inter_host_mpi", "mpi_bandwidth_inter_host_mpi",
    "mpi_latency_inter_image_mpi", "mpi_bandwidth_inter_image_mpi", "mpi_allreduce_host_mpi",
    "mpi_alltoall_host_mpi", "mpi_allreduce_image_mpi", "mpi_alltoall_image_mpi",
    "import_warm", "import_cold",
    "app_hpl", "app_dgemm", "app_stream", "app_ptrans", "app_randomaccess", "app_fft", "app_beff_bandwidth",
    "app_beff_latency", "projection_overhead_256x64_ms",
]
PLOTS = ["startup_time", "startup_ratio", "mpi_latency", "mpi_bandwidth", "mpi_ratio", "mpi_collectives",
         "import_storm", "app_hpcc", "projection"]
errors = []


def fail(msg):
    errors.append(msg)


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return fail(f"{path}: not a PNG (magic bytes {data[:8]!r})")
    if len(data) > 200 * 1024:
        fail(f"{path}: {len(data)} bytes, over 200 KB")
    from PIL import Image
    try:
        with Image.open(path) as im:
            im.load()
            if im.size[0] < 200 or im.size[1] < 150:
                fail(f"{path}: {im.size} is too small to be a plot")
    except Exception as e:
        fail(f"{path}: does not decode: {e}")


def main(d, mode):
    for name in ("report.html", "report.md", "results.json", "machine.txt"):
        if not os.path.isfile(os.path.join(d, name)) or os.path.getsize(os.path.join(d, name)) == 0:
            fail(f"{d}/{name} is missing or empty")
    if errors:
        return
    with open(os.path.join(d, "results.json")) as f:
        r = json.load(f)
    md = open(os.path.join(d, "report.md")).read()
    html = open(os.path.join(d, "report.html")).read()
    machine = open(os.path.join(d, "machine.txt")).read()
    for key in ("nodes:", "kernel:", "slurm:", "mpi:", "cexec:", "image:", "per_node:"):
        if key not in machine:
            fail(f"machine.txt has no `{key}' line")
    if "sha256:" not in machine:
        fail("machine.txt does not give the image's sha256")
    pngs = sorted(f for f in os.listdir(d) if f.endswith(".png"))
    for p in pngs:
        check_png(os.path.join(d, p))
        if f"{p[:-4]}.png" not in md:
            fail(f"report.md does not show {p}")
    if html.count("data:image/png;base64,") != len(pngs):
        fail(f"report.html embeds {html.count('data:image/png;base64,')} images, the folder has {len(pngs)} PNGs")
    if "src='http" in html or 'src="http' in html:
        fail("report.html is not self-contained")
    for s in r["samples"]:
        for k in ("part", "case", "variant", "rep", "wall_s", "status", "ok"):
            if k not in s:
                fail(f"a sample has no {k}: {s}")
    if "wall_s" not in r.get("units", {}):
        fail("results.json gives no units")
    metrics = r.get("metrics", {})
    for m in METRICS:
        if m not in metrics:
            fail(f"results.json has no metric {m}")
    if "## Summary" not in md or "| metric | ratio |" not in md:
        fail("report.md does not open with the summary table")

    if mode == "complete":
        if not r.get("complete"):
            fail("the run is not marked complete")
        for p in ("startup", "mpi", "import", "app"):
            if r["parts"][p]["status"] != "done":
                fail(f"part {p}: {r['parts'][p]}")
        for p in PLOTS:
            if f"{p}.png" not in pngs:
                fail(f"no plot {p}.png")
        for m in METRICS:
            v = metrics.get(m, {})
            if v.get("value") is not None:
                if m != "projection_overhead_256x64_ms" and not v.get("verdict") in ("pass", "warn", "info"):
                    fail(f"{m}: value without a verdict: {v}")
                continue
            # Only what the machine decides may lack a value, and then the report says why.
            if m == "startup_srun_chrun" and v.get("status") == "not installed":
                continue
            if m == "import_cold" and v.get("status") == "not allowed":
                continue
            fail(f"{m} has no value: {v.get('status')}: {v.get('reason')}")
        if "pass" not in md and "warn" not in md:
            fail("the summary has no verdicts")
    elif mode == "interrupted":
        if r.get("complete") or not str(r.get("interrupted", "")).startswith("SIGTERM"):
            fail(f"not marked interrupted by SIGTERM: complete={r.get('complete')} interrupted={r.get('interrupted')}")
        st = {p: r["parts"][p]["status"] for p in r["parts"]}
        if st["startup"] != "interrupted" or st["mpi"] != "not run":
            fail(f"part statuses after SIGTERM in the startup part: {st}")
        for text, name in ((md, "report.md"), (html, "report.html")):
            if "Did not finish" not in text or "part mpi: not run" not in text or "part startup: interrupted" not in text:
                fail(f"{name} does not name what did not finish")
        if not any(s["part"] == "startup" and s["ok"] for s in r["samples"]):
            fail("no startup run was kept from before the signal")
        if "startup_time.png" not in pngs:
            fail("the partial report has no startup plot")
        if metrics["mpi_latency_intra_host_mpi"]["value"] is not None or "not" not in metrics["mpi_latency_intra_host_mpi"]["status"]:
            fail(f"an MPI metric of the interrupted run: {metrics['mpi_latency_intra_host_mpi']}")
    elif mode == "failing":
        for m in ("startup_srun_cexec", "startup_srun_no_share", "startup_mpirun_cexec"):
            v = metrics[m]
            if v.get("value") is not None or v.get("status") != "failed" or "failed in all" not in v.get("reason", ""):
                fail(f"{m} of a failing cexec: {v}")
        if "failed in all" not in md or "Failed runs" not in md:
            fail("report.md does not name the failed runs")
        if r["parts"]["startup"].get("failed_runs", 0) < 3:
            fail(f"failed runs not counted: {r['parts']['startup']}")
        if "part startup:" not in md:
            fail("report.md does not say that the startup part had failed runs")
    else:
        fail(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    for e in errors:
        print(f"check_admin_report: {sys.argv[1]}: {e}", file=sys.stderr)
    print(f"check_admin_report: {sys.argv[1]} ({sys.argv[2]}): {'FAILED, ' + str(len(errors)) + ' errors' if errors else 'ok'}")
    sys.exit(1 if errors else 0)

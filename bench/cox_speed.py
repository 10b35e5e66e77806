"""Time mgsurv.stats.coxph_port against R's coxph.fit and lifelines on the same data.

    .venv/bin/python bench/cox_speed.py [--sizes 100000 1000000] [--repeat 3] [--all] [--no-r]

Data: numpy (seeded), 6 standard-normal covariates, exponential event times against uniform
censoring, in months; "untied" keeps the times as drawn, "tied" rounds them to 0.1 month.
Both sides are timed alike: --repeat calls in one process (Python) or one R session, wall
clock, reporting the best and the first call (which pays for fresh memory).  R reads the same
doubles from a temporary binary file (readBin: exact, and outside the timing) and times only
``coxph.fit(...)`` (Efron, coxph.control() defaults, resid = FALSE; also the default
resid = TRUE) with system.time.  mgsurv's fit is called as coxph.fit is (timefix = False, no
concordance); Harrell's C is timed apart against R's ``concordancefit(..., reverse = TRUE,
timefix = FALSE)``, what ``coxph`` adds.  lifelines (CoxPHFitter at an R-like precision,
``R_LIKE_FIT``) runs at n <= 1e5 and on tied data; at 1e6 untied (81 s) only with --all.  Peak
memory at the largest n: tracemalloc's peak over one fit (numpy's buffers) and the peak RSS
of a child process that builds the data and fits, against one that only builds the data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from mgsurv.stats.coxph_port import concordance_counts, coxph_fit  # noqa: E402

# lifelines' options that reach the optimum of coxph(eps = 1e-12): lifelines stops once the
# Newton decrement falls below ``precision`` without taking its last step, so it is pushed to
# 1e-20 and then ends when the log-likelihood stops changing in double precision.
R_LIKE_FIT = {"precision": 1e-20, "r_precision": 1e-16}
P = 6
R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
n <- as.integer(args[2]); p <- as.integer(args[3]); reps <- as.integer(args[4])
con <- file(args[1], "rb")
x <- matrix(readBin(con, "double", n * p), n, p)
time <- readBin(con, "double", n)
status <- readBin(con, "double", n)
close(con)
suppressPackageStartupMessages(library(survival))
y <- Surv(time, status)
cpu <- c()
times <- function(f, keep_cpu = FALSE) {
  out <- sapply(seq_len(reps), function(i) {
    t <- system.time(f())
    if (keep_cpu) cpu <<- c(cpu, t[["user.self"]] + t[["sys.self"]])
    t[["elapsed"]]
  })
  out
}
status <- function(key) {
  line <- grep(paste0("^", key), readLines("/proc/self/status"), value = TRUE)
  as.numeric(strsplit(trimws(sub(key, "", line)), " +")[[1]][1]) / 1024
}
invisible(gc())
try(writeLines("5", "/proc/self/clear_refs"), silent = TRUE)  # peak RSS := current RSS
rss <- status("VmRSS:")
fit <- NULL
t_fit <- times(function() fit <<- coxph.fit(x, y, NULL, NULL, NULL, coxph.control(), NULL,
                                            "efron", NULL, resid = FALSE,
                                            nocenter = c(-1, 0, 1)), keep_cpu = TRUE)
rss_peak <- status("VmHWM:")  # over the fits (the first allocates, the next reuse)
t_resid <- times(function() coxph.fit(x, y, NULL, NULL, NULL, coxph.control(), NULL, "efron",
                                      NULL, nocenter = c(-1, 0, 1)))
lp <- fit$linear.predictors
conc <- NULL
t_conc <- times(function() conc <<- concordancefit(y, lp, reverse = TRUE, timefix = FALSE))
cat(sprintf("%.17g", c(t_fit[1], min(t_fit), min(t_resid), min(t_conc), conc$concordance,
                       rss, rss_peak, min(cpu), fit$iter, fit$coefficients)), "\n")
"""


def make_data(n: int, tied: bool, seed: int = 20240611):
    rng = np.random.default_rng(seed + n + tied)
    x = rng.standard_normal((n, P))
    lp = x @ np.array([0.4, -0.3, 0.2, 0.1, -0.15, 0.25])
    event_time = rng.exponential(12 * np.exp(-lp))
    censor_time = rng.uniform(1, 48, n)
    time_ = np.minimum(event_time, censor_time)
    event = (event_time <= censor_time).astype(np.int8)
    if tied:
        time_ = np.maximum(np.round(time_, 1), 0.1)
    return x, time_, event


def best_of(repeat: int, fn):
    """Best and first wall time of ``repeat`` calls, best CPU time, and the last result."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(times), times[0], min(cpu), result


def run_r(x, time_, event, repeat: int):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.bin"
        with data.open("wb") as handle:
            np.asfortranarray(x).ravel(order="F").tofile(handle)
            time_.astype(float).tofile(handle)
            event.astype(float).tofile(handle)
        script = Path(tmp) / "fit.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(data), str(len(time_)), str(P), str(repeat)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    values = [float(v) for v in out]
    return {
        "first": values[0],
        "fit": values[1],
        "fit_resid": values[2],
        "concordance_time": values[3],
        "concordance": values[4],
        "rss": values[5],
        "rss_peak": values[6],
        "cpu": values[7],
        "iter": int(values[8]),
        "coef": np.array(values[9 : 9 + P]),
    }


def run_lifelines(x, time_, event):
    import pandas as pd
    from lifelines import CoxPHFitter

    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(P)])
    frame["time"], frame["event"] = time_, event
    start = time.perf_counter()
    fitter = CoxPHFitter().fit(frame, "time", "event", fit_options=R_LIKE_FIT)
    return time.perf_counter() - start, fitter.params_.to_numpy()


PEAK_SCRIPT = """
import sys
sys.path.insert(0, {bench!r})
import cox_speed as b
x, t, e = b.make_data({n}, {tied})
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
try:
    open("/proc/self/clear_refs", "w").write("5")  # peak RSS := current RSS
except OSError:
    pass
before = status("VmRSS")
b.coxph_fit(x, t, e, timefix=False, concordance={concordance})
print(before, status("VmHWM"))
"""


def peak_memory(n: int, tied: bool) -> dict[str, float]:
    """MB: tracemalloc's peak over one fit (numpy's buffers); and, in a child process, the
    RSS once the data are built and the peak RSS during the fit (the fit alone, and with
    its concordance)."""
    x, time_, event = make_data(n, tied)
    tracemalloc.start()
    coxph_fit(x, time_, event, timefix=False, concordance=False)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {"traced": traced / 2**20}
    for concordance in (False, True):
        code = PEAK_SCRIPT.format(
            bench=str(Path(__file__).parent), n=n, tied=tied, concordance=concordance
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        before, peak = (float(v) for v in out.stdout.split())
        result["rss_data"] = before
        result["rss_peak_conc" if concordance else "rss_peak"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="lifelines at every size")
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    print(
        "| times | n | mgsurv fit, best (1st) | R coxph.fit, best (1st) | ratio best (1st) |"
        " CPU ratio | R coxph.fit resid=TRUE | lifelines | mgsurv C | R concordancefit |"
        " C ratio | iter mgsurv/R | max coef rel. diff |"
    )
    print("|" + "---|" * 13)
    r_memory = {}
    for n in args.sizes:
        for tied in (False, True):
            x, time_, event = make_data(n, tied)
            fit_time, first, fit_cpu, fit = best_of(
                args.repeat,
                lambda x=x, t=time_, e=event: coxph_fit(x, t, e, timefix=False, concordance=False),
            )
            c_time, _, _, conc = best_of(
                args.repeat,
                lambda t=time_, e=event, lp=fit.linear_predictors: concordance_counts(
                    t, e, lp, timefix=False
                ),
            )
            r = None if args.no_r else run_r(x, time_, event, args.repeat)
            lifelines, diffs = "skipped", []
            if r is not None:
                diffs.append(f"R {np.max(np.abs(r['coef'] / fit.coef - 1)):.0e}")
                if abs(conc.value - r["concordance"]) > 1e-12:
                    diffs.append(f"C differs from R by {conc.value - r['concordance']:.1e}")
            if args.all or tied or n <= 100_000:
                l_time, l_coef = run_lifelines(x, time_, event)
                lifelines = f"{l_time:.2f} s"
                diffs.append(f"lifelines {np.max(np.abs(l_coef / fit.coef - 1)):.0e}")
            mine = f"{fit_time:.3f} s ({first:.3f} s)"
            if r is None:
                r_cols = f"— | — | — | — | {lifelines} | {c_time:.3f} s | — | —"
                iters = f"{fit.iterations}/—"
            else:
                r_cols = (
                    f"{r['fit']:.3f} s ({r['first']:.3f} s) |"
                    f" {fit_time / r['fit']:.2f} ({first / r['first']:.2f}) |"
                    f" {fit_cpu / r['cpu']:.2f} ({fit_cpu:.3f} / {r['cpu']:.3f} s) |"
                    f" {r['fit_resid']:.3f} s | {lifelines} | {c_time:.3f} s |"
                    f" {r['concordance_time']:.3f} s | {c_time / r['concordance_time']:.2f}"
                )
                iters = f"{fit.iterations}/{r['iter']}"
                r_memory[n, tied] = f"; R: RSS {r['rss']:.0f} MB, peak {r['rss_peak']:.0f} MB"
            label = "tied (0.1)" if tied else "untied"
            print(f"| {label} | {n:.0e} | {mine} | {r_cols} | {iters} | {'; '.join(diffs)} |")
            sys.stdout.flush()
    largest = max(args.sizes)
    for tied in (False, True):
        memory = peak_memory(largest, tied)
        print(
            f"memory, n = {largest:.0e} {'tied' if tied else 'untied'}: tracemalloc peak "
            f"{memory['traced']:.0f} MB in the fit; RSS {memory['rss_data']:.0f} MB with the "
            f"data, peak {memory['rss_peak']:.0f} MB during the fit "
            f"({memory['rss_peak_conc']:.0f} MB with its concordance)"
            + r_memory.get((largest, tied), "")
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

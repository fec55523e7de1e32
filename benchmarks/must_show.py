"""``python benchmarks/engines.py --must-show``: the default engine against native LibMF on ML-1M, even-handed.

Three questions, all answered from one run on the CPU it names, and written to
``benchmarks/results/engines.json`` (rendered into ``docs/benchmarks.md``):

1. Speed: updates per second over 20 epochs / iterations at K=100 on 1 and on 2 threads, both
   sides timing the same work: initialisation, ordering (our plan; LibMF's scaling, random maps and
   grid) and every epoch, no evaluation and no file reading (our JIT compilation is not counted: it
   happens once per machine and is then loaded from Numba's cache). Ours with the default settings;
   LibMF with its best settings on validation for 20 iterations. Target: ours at least 2x.
2. Seconds to a test RMSE of 0.86, 0.85 and 0.845 (:mod:`frontier`): ours with the default settings,
   and for reference ours with its own settings picked on validation for each target; LibMF with
   its settings picked on validation for each target (:data:`frontier.LIBMF_GRID`: eta, lambda and
   iterations). Target: the default settings faster than LibMF's picks at 0.85 and 0.845.
3. Test RMSE after the default 20 epochs against LibMF's best settings on validation after 20
   iterations. Target: ours at most LibMF's.

Each side runs in fresh processes, ``rounds`` times in alternating order; the tables give medians and
the spread (slowest..fastest round).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import frontier
import native_libmf
import results
from frontier import TARGETS, describe, fmt_to, median_spread

ROOT = Path(__file__).resolve().parents[1]
SPEED_RATIO, SPEED_TARGETS = 2.0, (0.85, 0.845)
ROUNDS = 7
"""Alternating rounds per run (more with ``--repeats``). On a shared machine another tenant can take a
core for seconds at a time, and a 2-thread fit of a quarter second then runs at 1-thread speed
from start to end: the median of 7 rounds stands while up to 3 are disturbed, on either side."""


def _worker(contender: str, path: Path, params: dict, fast: dict | None = None) -> dict:
    import json
    command = [sys.executable, str(ROOT / "benchmarks" / "engines.py"), "--worker", contender, "--worker-data",
               str(path), "--worker-params", json.dumps(params)]
    if fast is not None:
        command += ["--worker-fast", json.dumps(fast)]
    return frontier.run_json(command, ROOT)


def run(path: Path, params: dict, machine, rounds: int, default_engine: str) -> int:
    ready = native_libmf.split_and_build(path)
    if ready is None:
        return 2
    executable, train, test = ready
    with tempfile.TemporaryDirectory() as folder:
        libmf = frontier.LibMF(executable, Path(folder), train, test, params["n_factors"])
        return _measure(path, params, machine, rounds, default_engine, train, libmf)


def _picks(path, params, libmf):
    """Each side's validation grid and its picks: per target and for the RMSE after 20 epochs."""
    ours = _worker("frontier-grid", path, params)["points"]
    theirs = libmf.validation_curves()
    picks = {"ours": {t: frontier.pick(ours, t, frontier.our_cost) for t in TARGETS},
             "libmf": {t: frontier.pick(theirs, t, lambda point, epochs: epochs) for t in TARGETS}}
    picks["libmf"][None] = frontier.pick(theirs, None, None)
    for side in ("ours", "libmf"):
        for target, point in picks[side].items():
            shown = "none reaches it" if point is None else (
                f"{describe(point['settings'])}" + (f", {point['epochs']} on validation" if target else ""))
            print(f"{side}: picked on validation for {target or 'RMSE after 20'}: {shown}", flush=True)
    return ours, theirs, picks


def _measure(path, params, machine, rounds, default_engine, train, libmf) -> int:
    ours_grid, libmf_grid, picks = _picks(path, params, libmf)
    best20 = picks["libmf"][None]["settings"]
    our_settings = [{}] + [point["settings"] for point in picks["ours"].values() if point]
    iters = {(t, threads): libmf.iterations_for(point["settings"], point["epochs"], threads, t)
             for t, point in picks["libmf"].items() if t and point for threads in (1, 2)}
    contenders = ["ours@1", "libmf@1", "ours@2", "libmf@2"]
    found: dict[str, list] = {name: [] for name in contenders}
    for round_ in range(rounds):
        for name in contenders if round_ % 2 == 0 else contenders[::-1]:
            threads = int(name[-1])
            if name.startswith("ours"):
                fits = _worker(f"frontier-fits@{threads}", path, params, {"settings": our_settings})["fits"]
                found[name].append(fits)
                continue
            full = libmf.run(best20, frontier.MAX_EPOCHS, threads)
            row = {"seconds": full["seconds"], "test_rmse": full["test_rmse"], "cpu_seconds": full["cpu_seconds"],
                   "to": {}}
            for t in TARGETS:
                n = iters.get((t, threads))
                if n is not None:
                    row["to"][t] = _libmf_to(libmf, picks["libmf"][t]["settings"], n, threads, t)
            found[name].append(row)
        print(f"round {round_ + 1} of {rounds} done", flush=True)
    return _report(found, picks, our_settings, machine, train, params, default_engine, rounds,
                   {"ours_grid": ours_grid, "libmf_grid": libmf_grid, "libmf_iterations":
                    {f"{t}@{threads}": n for (t, threads), n in iters.items()}})


def _report(found, picks, our_settings, machine, train, params, default_engine, rounds, extra) -> int:
    n = len(train) * params["n_epochs"]
    speed_rows, frontier_rows, verdicts, data = [], [], [], {"rounds": {}, **extra}
    for threads in (1, 2):
        ours, theirs = found[f"ours@{threads}"], found[f"libmf@{threads}"]
        data["rounds"][f"ours@{threads}"], data["rounds"][f"libmf@{threads}"] = ours, theirs
        default = [fits[0] for fits in ours]
        o_speed = median_spread([f["updates_per_second"] for f in default])
        l_speed = median_spread([n / r["seconds"] for r in theirs])
        ratio = o_speed[0] / l_speed[0]
        o_rmse, l_rmse = default[0]["test_rmse"], median_spread([r["test_rmse"] for r in theirs])[0]
        speed_rows.append([threads, f"{o_speed[0] / 1e6:.1f} ({o_speed[1] / 1e6:.1f}..{o_speed[2] / 1e6:.1f})",
                           f"{l_speed[0] / 1e6:.1f} ({l_speed[1] / 1e6:.1f}..{l_speed[2] / 1e6:.1f})", f"{ratio:.2f}",
                           f"{o_rmse:.4f}", f"{l_rmse:.4f}"])
        verdicts.append([f"updates/s, default engine >= {SPEED_RATIO:g}x native LibMF", threads,
                         f"{o_speed[0] / 1e6:.1f} M/s", f"{l_speed[0] / 1e6:.1f} M/s",
                         f"{ratio:.2f}x: {'met' if ratio >= SPEED_RATIO else 'NOT met'}"])
        verdicts.append(["test RMSE after 20 epochs <= LibMF's best after 20 iterations", threads, f"{o_rmse:.4f}",
                         f"{l_rmse:.4f}", "met" if o_rmse <= l_rmse else "NOT met"])
        for t in TARGETS:
            mine = _median_to([frontier.seconds_to(fits[0], t) for fits in ours])
            index = our_settings.index(picks["ours"][t]["settings"]) if picks["ours"][t] else None
            tuned = None if index is None else _median_to([frontier.seconds_to(fits[index], t) for fits in ours])
            peer = _median_to([r["to"].get(t) for r in theirs])
            frontier_rows.append([t, threads, fmt_to(mine), fmt_to(tuned),
                                  describe(picks["ours"][t]["settings"]) if picks["ours"][t] else "-", fmt_to(peer),
                                  describe(picks["libmf"][t]["settings"]) if picks["libmf"][t] else "-"])
            if t in SPEED_TARGETS:
                met = mine is not None and (peer is None or mine[0] < peer[0])
                verdicts.append([f"seconds to test RMSE {t}, default settings < LibMF's validation pick", threads,
                                 fmt_to(mine), fmt_to(peer), "met" if met else "NOT met"])
    first = found["ours@1"][0][0]
    tables = [
        results.table(f"Speed: ML-1M, K={params['n_factors']}, 20 epochs, medians of {rounds} alternating rounds "
                      "(spread)", ["threads", f"ours ({default_engine}, defaults) M updates/s",
                                   "native LibMF M updates/s", "ratio", "our test RMSE", "LibMF test RMSE"],
                      speed_rows, notes=f"Ours: the defaults ({first['step_rule']} step rule, lr {first['lr']:g}, "
                      f"reg {params['reg']:g}, init_std {params['init_std']:g}); LibMF: its best point on validation "
                      f"after 20 iterations ({describe(picks['libmf'][None]['settings'])}), 26 bins. Both timed from "
                      "initialisation to the last epoch, no evaluation."),
        results.table("Seconds to a test RMSE (epochs or iterations)",
                      ["target", "threads", "ours, defaults", "ours, validation pick", "our pick",
                       "LibMF, validation pick", "LibMF pick"], frontier_rows,
                      notes="Picks: each side's fewest seconds to the target on a validation split of the training "
                            "data, from grids of 12 points each (benchmarks/frontier.py)."),
        results.table("Must show", ["item", "threads", "ours", "LibMF", "verdict"], verdicts)]
    for block in tables:
        print(f"\n{block['title']}\n| " + " | ".join(block["columns"]) + " |")
        for row in block["rows"]:
            print("| " + " | ".join(row) + " |")
    data.update(clock=machine.describe(), settings={"ours": our_settings, "libmf_best_after_20": picks["libmf"][None]})
    print(f"\nwrote {results.write('engines', tables, data)}")
    return 0


def _libmf_to(libmf, settings: dict, iterations: int, threads: int, target: float) -> tuple[float, int] | None:
    """LibMF's seconds (and iterations) to ``target`` in one round: a fresh run of ``iterations``, the
    count found beforehand; on 2 threads its result varies from run to run, so when this run's test
    RMSE misses the target, a run of one iteration more is timed instead, and so on (up to
    :data:`frontier.MAX_EPOCHS`)."""
    for n in range(iterations, frontier.MAX_EPOCHS + 1):
        run = libmf.run(settings, n, threads)
        if run["test_rmse"] <= target:
            return run["seconds"], n
    return None


def _median_to(values: list) -> tuple[float, int] | None:
    """The median seconds (and epochs) over rounds, or None when any round missed the target."""
    if not values or any(v is None for v in values):
        return None
    import numpy as np
    return float(np.median([v[0] for v in values])), int(np.median([v[1] for v in values]))

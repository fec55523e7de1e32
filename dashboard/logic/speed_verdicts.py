"""Sentences for the Speed page, generated from the timings it just measured (and from what Cancel did)."""

from __future__ import annotations

from dashboard.render.texts import Markdown, md

CLOSE = 0.05
"""Relative difference in seconds per epoch under which two engines count as equally fast."""


def cython_verdict(seconds_per_epoch: dict[str, float], compile_seconds: dict[str, float]) -> Markdown | None:
    """Whether the Cython kernel was worth writing, judged from ``seconds_per_epoch`` of the
    ``cython`` and ``numba`` engines (same data, settings and seed); None unless both were timed."""
    if "cython" not in seconds_per_epoch or "numba" not in seconds_per_epoch:
        return None
    cython, numba = seconds_per_epoch["cython"], seconds_per_epoch["numba"]
    ratio = cython / numba
    build = compile_seconds.get("cython", 0.0)
    cost = (f" and its first use in this process took {build:.1f} s to build or load" if build >= 0.05
            else "")
    if ratio > 1 + CLOSE:
        answer = md("**Was Cython worth it? No.** The same loop in Cython took {:.2f}x Numba's time "
                    "per epoch ({:.4f} s vs {:.4f} s); it also needs a C compiler{}.", ratio, cython, numba, cost)
    elif ratio < 1 - CLOSE:
        answer = md("**Was Cython worth it? Yes, on this run:** the same loop in Cython took {:.2f}x "
                    "Numba's time per epoch ({:.4f} s vs {:.4f} s), though it needs a C "
                    "compiler{}.", ratio, cython, numba, cost)
    else:
        answer = md("**Was Cython worth it? No gain:** Cython and Numba ran the same loop within "
                    "{:.0%} of each other ({:.4f} s vs {:.4f} s per epoch), and Cython "
                    "also needs a C compiler{}.", CLOSE, cython, numba, cost)
    if "numba-parallel" in seconds_per_epoch:
        blocked = numba / seconds_per_epoch["numba-parallel"]
        answer += (f" The blocked numba-parallel engine took {1 / blocked:.2f}x numba's time: "
                   + ("changing the visiting order and threads gains more than changing the compiler."
                      if blocked > max(1.0, numba / cython) else
                      "here it did not beat the serial kernels."))
    return answer


def cancel_sentence(timing: dict | None, saved: dict | None) -> str:
    """What Cancel did: the engines timed before it, not kept, and which results the page still shows."""
    done = [] if timing is None else timing["engines"][:len(timing["job"].results)]
    planned = 0 if timing is None else len(timing["engines"])
    timed = (f"after {len(done)} of {planned} engine{'s' * (planned != 1)} ({', '.join(done)})" if done
             else "before the first engine was timed")
    kept = (f"The results below are the earlier timing's ({saved['dataset']}, K={saved['k']}), unchanged."
            if saved else "There are no earlier results to show.")
    return f"Cancelled: the timing stopped {timed}; nothing of it was kept. {kept}"

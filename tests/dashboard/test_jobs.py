"""The training scheduler: bounded slots, FIFO queue with positions, GIL-bound jobs one at a time,
cancellation (queued and running), failures kept, the work guard, and follow() cancelling on stop."""

import threading
import time

import pytest

from dashboard.server import jobs


def gated(gate: threading.Event, steps: int = 3):
    """A job that yields ``steps`` times, each after ``gate`` opens (so tests control its pace)."""
    def run(job):
        for step in range(steps):
            gate.wait(5)
            yield step
    return run


def wait_until(condition, timeout=5.0):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_at_most_capacity_run_and_the_rest_queue_in_order():
    scheduler, gate = jobs.Scheduler(capacity=2), threading.Event()
    submitted = [scheduler.submit(gated(gate), label=f"job {n}") for n in range(5)]
    assert [job.state for job in submitted] == ["running"] * 2 + ["queued"] * 3
    assert [job.position for job in submitted] == [0, 0, 1, 2, 3]
    line = submitted[3].status_line()
    assert line == ("job 3: queued, position 2 of 3, waiting for 1 free training slot "
                    "(this server has 2; 2 in use by 2 running jobs)")
    assert submitted[3].fraction(0, 3, None) == 0.0
    assert submitted[0].status_line("epoch 1/3").startswith("job 0: running, epoch 1/3 (")
    assert 0 < submitted[0].fraction(1, 3, 1e-9) <= (1 + 0.95) / 3
    gate.set()
    for job in submitted:
        assert job.wait(5)
    assert [job.state for job in submitted] == ["done"] * 5
    assert all(job.results == [0, 1, 2] for job in submitted)
    started = sorted(submitted, key=lambda job: job.started_at)
    assert started[2:] == submitted[2:]  # the queued ones started first in, first out


def test_concurrency_never_exceeds_capacity():
    scheduler, lock, counts = jobs.Scheduler(capacity=2), threading.Lock(), {"now": 0, "most": 0}

    def work(job):
        with lock:
            counts["now"] += 1
            counts["most"] = max(counts["most"], counts["now"])
        time.sleep(0.02)
        yield 1
        with lock:
            counts["now"] -= 1

    submitted = [scheduler.submit(work, label=str(n)) for n in range(8)]
    assert all(job.wait(5) for job in submitted)
    assert counts["most"] == 2


def test_costly_job_takes_its_slots_and_gil_jobs_run_one_at_a_time():
    scheduler, gate = jobs.Scheduler(capacity=3), threading.Event()
    python_a = scheduler.submit(gated(gate), label="python a", holds_gil=True)
    python_b = scheduler.submit(gated(gate), label="python b", holds_gil=True)
    compiled = scheduler.submit(gated(gate), label="numba", cost=2)
    assert (python_a.state, python_b.state, compiled.state) == ("running", "queued", "running")
    too_big = scheduler.submit(gated(gate), label="wide", cost=10)  # clipped to the capacity
    assert too_big.cost == 3 and too_big.state == "queued"
    gate.set()
    assert all(job.wait(5) for job in (python_a, python_b, compiled, too_big))


def test_cancel_a_queued_job_removes_it_and_moves_the_others_up():
    scheduler, gate = jobs.Scheduler(capacity=1), threading.Event()
    running = scheduler.submit(gated(gate), label="a")
    second, third = scheduler.submit(gated(gate), label="b"), scheduler.submit(gated(gate), label="c")
    second.cancel()
    assert second.finished and second.state == "cancelled" and second.results == []
    assert third.position == 1
    gate.set()
    assert running.wait(5) and third.wait(5) and third.state == "done"


def test_cancel_a_running_job_stops_it_after_its_current_step_and_closes_it():
    scheduler, step_gate, closed = jobs.Scheduler(capacity=1), threading.Event(), threading.Event()

    def work(job):
        try:
            for step in range(100):
                step_gate.wait(5)
                yield step
        finally:
            closed.set()

    job = scheduler.submit(work, label="long")
    follower = scheduler.submit(gated(threading.Event(), 0), label="next")
    job.cancel()
    step_gate.set()
    assert job.wait(5) and job.state == "cancelled" and len(job.results) == 1 and closed.is_set()
    assert follower.wait(5) and follower.state == "done"  # the freed slot went to the queue


def test_failure_is_kept_and_frees_the_slot():
    scheduler = jobs.Scheduler(capacity=1)

    def broken(job):
        yield 1
        raise ValueError("lr == 5, must be < 1.")

    job = scheduler.submit(broken, label="bad")
    after = scheduler.submit(gated(threading.Event(), 0), label="after")
    assert job.wait(5) and job.state == "failed" and str(job.error) == "lr == 5, must be < 1."
    assert job.results == [1]
    assert after.wait(5) and after.state == "done"


def test_work_guard_ends_a_job_after_max_seconds():
    scheduler = jobs.Scheduler(capacity=1)

    def endless(job):
        while True:
            time.sleep(0.01)
            yield None

    job = scheduler.submit(endless, label="endless", max_seconds=0.1)
    assert job.wait(5) and job.state == "timed out"
    assert 0.1 <= job.elapsed < 2


def test_cancel_owner_cancels_only_that_sessions_jobs():
    scheduler, gate = jobs.Scheduler(capacity=1), threading.Event()
    mine = [scheduler.submit(gated(gate), label=str(n), owner="me") for n in range(2)]
    theirs = scheduler.submit(gated(gate), label="theirs", owner="you")
    assert scheduler.cancel_owner("me") == 2
    gate.set()
    assert all(job.wait(5) and job.state == "cancelled" for job in mine)
    assert theirs.wait(5) and theirs.state == "done"


class Stopped(Exception):
    """Stands in for Streamlit's StopException, raised at the next st.* call of a stopped script."""


def test_follow_renders_while_running_and_cancels_when_the_script_is_stopped():
    scheduler, gate = jobs.Scheduler(capacity=1), threading.Event()
    job = scheduler.submit(gated(gate, 50), label="followed")
    renders = []

    def render(job):
        renders.append(job.state)
        if len(renders) == 3:
            raise Stopped

    with pytest.raises(Stopped):
        jobs.follow(job, render, poll=0.01)
    assert job.cancelled
    gate.set()
    assert job.wait(5) and job.state == "cancelled" and len(job.results) < 50


def test_follow_renders_once_more_at_the_end():
    scheduler = jobs.Scheduler(capacity=1)
    job = scheduler.submit(gated(threading.Event(), 0), label="quick")
    seen = []
    jobs.follow(job, lambda job: seen.append(job.state), poll=0.01)
    assert seen[-1] == "done"


def test_default_capacity_reads_the_environment(monkeypatch):
    monkeypatch.setenv("MF_TRAINING_SLOTS", "3")
    assert jobs.default_capacity() == 3
    monkeypatch.delenv("MF_TRAINING_SLOTS")
    assert jobs.default_capacity() >= 1


def test_jobs_run_at_a_lower_priority_than_the_page_scripts():
    import os
    scheduler = jobs.Scheduler(capacity=1)

    def niceness(job):
        yield os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    job = scheduler.submit(niceness, label="nice")
    assert job.wait(5)
    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert job.results == [min(19, here + jobs.NICENESS)]


def test_every_failure_is_logged_with_its_traceback_and_told_in_one_sentence(caplog):
    scheduler = jobs.Scheduler(capacity=1)

    def failing(error):
        def steps(job):
            raise error
            yield
        return steps

    bug = scheduler.submit(failing(KeyError("P_")), label="bug")
    user = scheduler.submit(failing(ValueError("lr == 5, must be < 1.")), label="user")
    assert bug.wait(5) and user.wait(5)
    logged = {record.getMessage(): record for record in caplog.records if record.name == "dashboard.server.jobs"}
    assert set(logged) == {"training job 'bug' failed: 'P_'", "training job 'user' failed: lr == 5, must be < 1."}
    assert logged["training job 'bug' failed: 'P_'"].levelname == "ERROR"
    assert logged["training job 'user' failed: lr == 5, must be < 1."].levelname == "WARNING"
    for record in logged.values():  # the traceback reaches the log, down to the raising line
        assert "raise error" in caplog.text and record.exc_info[2] is not None
    assert jobs.failure(user) == "lr == 5, must be < 1"
    assert jobs.failure(bug) == "an internal error (KeyError) ended it; the server log has its traceback"


def test_a_failing_clean_up_is_the_jobs_failure_and_logged(caplog):
    scheduler = jobs.Scheduler(capacity=1)

    def steps(job):
        try:
            yield 1
        finally:
            raise RuntimeError("could not close the study")

    job = scheduler.submit(steps, label="closing")
    job.cancel()
    assert job.wait(5) and job.state == "failed" and isinstance(job.error, RuntimeError)
    assert "training job 'closing' failed: could not close the study" in caplog.text


def test_queue_text_counts_the_real_slots_one_job_holding_both():
    """Issue 19: no "waiting for one of the 2 training slots" while one run trains alone on both."""
    scheduler, gate = jobs.Scheduler(capacity=2), threading.Event()
    first = scheduler.submit(gated(gate), label="run 1", cost=2)
    second = scheduler.submit(gated(gate), label="run 2", cost=2)
    assert second.status_line() == ("run 2: queued, position 1 of 1, waiting for 2 free training slots "
                                     "(this server has 2; 2 in use by 1 running job)")
    assert scheduler.busy_slots() == 2
    gate.set()
    assert first.wait(5) and second.wait(5)


def test_queue_text_names_the_gil_when_slots_are_free():
    scheduler, gate = jobs.Scheduler(capacity=4), threading.Event()
    first = scheduler.submit(gated(gate), label="python 1", holds_gil=True)
    second = scheduler.submit(gated(gate), label="python 2", holds_gil=True)
    assert "run one at a time" in second.status_line() and "1 in use by 1 running job" in second.status_line()
    gate.set()
    assert first.wait(5) and second.wait(5)


@pytest.mark.parametrize("engine, schedule, n_ratings, n_threads, cost", [
    ("numba-parallel", "per-rating", 90_000, 8, 1),       # the bundled sample runs on one thread
    ("numba-parallel", "per-rating", 250_000, 8, 2),      # 100 000 ratings per thread
    ("numba-parallel", "per-rating", 900_000, 4, 4),      # ML-1M: every thread asked for
    ("numba-parallel", "per-factor", 900_000, 4, 1),      # serial kernels under the other schedules
    ("numba", "per-rating", 900_000, 4, 1),
    ("numba-parallel", "per-rating", None, 3, 3),         # size unknown: every thread asked for
])
def test_engine_cost_is_the_threads_the_engine_will_run(engine, schedule, n_ratings, n_threads, cost):
    assert jobs.engine_cost(engine, n_threads, 16, n_ratings, schedule) == cost


def test_engine_cost_and_the_engine_agree_through_one_function():
    from mfcore.engines import numba_parallel

    for n_ratings in (0, 99_999, 100_000, 350_000, 10**7):
        for n_threads in (None, 1, 3, 64):
            assert jobs.engine_cost("numba-parallel", n_threads, 16, n_ratings) == \
                numba_parallel.effective_threads(n_ratings, n_threads)


def test_blas_runs_on_one_thread_in_a_server_process():
    """A job's slots are its cores: once the scheduler exists, BLAS (EASE's inversion) uses one thread."""
    import os
    import subprocess
    import sys

    from apptest_helpers import ROOT
    code = ("from threadpoolctl import threadpool_info\n"
            "from dashboard.server import jobs\n"
            "jobs.scheduler()\n"
            "print(sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}))\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=str(ROOT), env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    assert shown.stdout.strip() == "[1]", shown.stdout + shown.stderr

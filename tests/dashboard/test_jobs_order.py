"""The scheduler's order, proved on random mixes: first come, first served with at most
``max_overtakes`` overtakings per job (``0``: plain FIFO), never an idle slot a job's turn could use,
never more slots than the capacity, and every job starts.

Each job waits on its own gate, so the test decides when it ends; the scheduler changes its state
before a job's ``wait`` returns, so after each action the state is settled and checked exactly."""

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.server import jobs

GATE_SECONDS = 10


class Mix:
    """Jobs submitted to one scheduler, each one's gate, and the checks after every action."""

    def __init__(self, capacity: int, max_overtakes: int):
        self.scheduler = jobs.Scheduler(capacity=capacity, max_overtakes=max_overtakes)
        self.jobs: list[jobs.Job] = []
        self.gates: list[threading.Event] = []

    def submit(self, cost: int, holds_gil: bool = False) -> jobs.Job:
        gate = threading.Event()

        def steps(job):
            assert gate.wait(GATE_SECONDS)
            yield "done"

        self.gates.append(gate)
        self.jobs.append(self.scheduler.submit(steps, f"job {len(self.jobs)}", cost=cost, holds_gil=holds_gil))
        self.settled()
        return self.jobs[-1]

    def finish(self, choice: int) -> None:
        """End the ``choice``-th running job (modulo how many run); nothing when none runs."""
        running = [n for n, job in enumerate(self.jobs) if job.state == jobs.RUNNING]
        if running:
            n = running[choice % len(running)]
            self.gates[n].set()
            assert self.jobs[n].wait(GATE_SECONDS)
        self.settled()

    def settled(self) -> None:
        """Check the state an action left."""
        running = self.scheduler.running()
        capacity, bound = self.scheduler.capacity, self.scheduler.max_overtakes
        assert sum(job.cost for job in running) <= capacity
        assert sum(job.holds_gil for job in running) <= 1
        busy, gil_busy = sum(job.cost for job in running), any(job.holds_gil for job in running)
        queued = self.scheduler.queued()
        assert queued == [job for job in self.jobs if job.state == jobs.QUEUED]  # in submission order
        for at, job in enumerate(queued):  # a job waits only when it does not fit or it is not its turn
            fits = busy + job.cost <= capacity and not (job.holds_gil and gil_busy)
            held = any(earlier.overtaken >= bound for earlier in queued[:at])
            assert not fits or held, f"{job.label} fits and its turn has come, but waits"

    def drain(self) -> None:
        for _ in range(len(self.jobs)):
            running = [n for n, job in enumerate(self.jobs) if job.state == jobs.RUNNING]
            for n in running:
                self.gates[n].set()
            for n in running:
                assert self.jobs[n].wait(GATE_SECONDS)
            self.settled()
        assert self.scheduler.wait_idle(GATE_SECONDS)

    def overtakings(self) -> list[int]:
        """For each job, how many jobs submitted after it started before it."""
        start = [job.start_number for job in self.jobs]
        return [sum(later is not None and (own is None or later < own) for later in start[n + 1:])
                for n, own in enumerate(start)]


ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("submit"), st.sampled_from([1, 2]), st.booleans()),
    st.tuples(st.just("finish"), st.integers(0, 3), st.just(False))), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, capacity=st.sampled_from([2, 3]), max_overtakes=st.sampled_from([0, 1, 2]))
def test_random_mixes_of_one_and_two_slot_jobs_start_in_the_stated_order(actions, capacity, max_overtakes):
    mix = Mix(capacity, max_overtakes)
    try:
        for action, number, gil in actions:
            if action == "submit":
                mix.submit(number, holds_gil=gil and number == 1)
            else:
                mix.finish(number)
        mix.drain()
    finally:  # a failing example ends its jobs at once, so shrinking stays quick
        for gate in mix.gates:
            gate.set()
    assert all(job.state == jobs.DONE for job in mix.jobs)  # every job started (and ended)
    counted = mix.overtakings()
    assert all(count <= max_overtakes for count in counted)
    assert counted == [job.overtaken for job in mix.jobs]
    assert sorted(job.start_number for job in mix.jobs) == list(range(len(mix.jobs)))
    if max_overtakes == 0:  # plain FIFO: starts in submission order
        assert [job.start_number for job in mix.jobs] == list(range(len(mix.jobs)))


@pytest.mark.parametrize("max_overtakes", [0, 1, 2])
def test_a_two_slot_job_is_passed_by_later_one_slot_jobs_at_most_the_bound(max_overtakes):
    """The case that starved: one one-slot job runs, a two-slot job waits, eight one-slot jobs follow,
    and each one-slot job ends in turn, so there is always exactly one free slot."""
    mix = Mix(capacity=2, max_overtakes=max_overtakes)
    mix.submit(1)
    wide = mix.submit(2)
    for _ in range(8):
        mix.submit(1)
    while wide.state == jobs.QUEUED:
        mix.finish(0)  # the oldest running job ends
    assert wide.overtaken == max_overtakes == mix.overtakings()[1]
    mix.drain()


def test_without_a_bound_the_two_slot_job_waits_until_the_one_slot_jobs_run_out():
    """What the bound prevents: with unbounded overtaking every later one-slot job passes."""
    mix = Mix(capacity=2, max_overtakes=10**9)
    mix.submit(1)
    wide = mix.submit(2)
    for _ in range(8):
        mix.submit(1)
    while wide.state == jobs.QUEUED:
        mix.finish(0)
    assert wide.overtaken == 8 == mix.overtakings()[1]
    mix.drain()


def test_a_held_job_says_what_it_waits_for_and_cancelling_the_holder_lets_it_start():
    mix = Mix(capacity=2, max_overtakes=1)
    mix.submit(1)
    wide = mix.submit(2)
    mix.submit(1)  # passes the wide job once: the bound
    held = mix.submit(1)
    mix.finish(0)  # a slot frees, but the wide job needs two: the later one-slot job is held
    assert wide.overtaken == 1 and held.state == jobs.QUEUED
    assert "has been passed 1 time, to start first" in held.status_line()
    wide.cancel()
    mix.settled()
    assert held.state == jobs.RUNNING
    mix.drain()

"""The numba-parallel engine: deterministic, as accurate as serial SGD, safe under concurrent trainings."""

import threading

from pathlib import Path

import numpy as np
import pytest

from mfcore import SGDFactorizer, from_arrays, random_split
from mfcore.engines import numba_jit, numba_parallel, threads
from mfcore.engines.grouping import group_shuffled, interleaved_places
from mfcore.engines.chains import predecessors
from mfcore.engines.order import epoch_order, permutation_from_uniforms


def problem(n_users=300, n_items=200, n_ratings=12000, rank=3, seed=0):
    """Ratings from a low-rank model plus noise, so that a good factorization exists."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(n_users * n_items, n_ratings, replace=False)
    users, items = np.divmod(keys, n_items)
    truth = rng.normal(0, 0.7, (n_users, rank)) @ rng.normal(0, 0.7, (rank, n_items))
    values = np.clip(np.round(3.5 + truth[users, items] + rng.normal(0, 0.3, n_ratings)), 1, 5)
    return random_split(from_arrays(users, items, values), 0.1, seed=0)


PARAMS = dict(n_factors=16, n_epochs=8, lr=0.01, reg=0.05, seed=3)


@pytest.fixture(autouse=True)
def use_the_pool_even_for_small_data(monkeypatch):
    """Small epochs normally run in the calling thread; these tests are about the threads."""
    monkeypatch.setattr(numba_parallel, "MIN_RATINGS_PER_THREAD", 0)


def fit(engine, train, test=None, **params):
    return SGDFactorizer(engine=engine, **{**PARAMS, **params}).fit(train, test)


def same_factors(a, b):
    return all(np.array_equal(getattr(a, name), getattr(b, name)) for name in ("P_", "Q_", "bu_", "bi_"))


@pytest.mark.jit_only
def test_same_seed_gives_identical_factors_run_to_run():
    train, test = problem()
    first, second = fit("numba-parallel", train, n_threads=2), fit("numba-parallel", train, n_threads=2)
    assert same_factors(first, second)
    assert [r.train_rmse for r in first.history_] == [r.train_rmse for r in second.history_]


@pytest.mark.jit_only
def test_one_and_two_threads_give_identical_factors():
    """Documented semantics: the block grid depends on the thread count only once G < 2 x threads,
    so 1 and 2 threads share the grid and, blocks in a sub-epoch being independent, the result."""
    train, _ = problem()
    assert same_factors(fit("numba-parallel", train, n_threads=1), fit("numba-parallel", train, n_threads=2))


@pytest.mark.jit_only
def test_small_epochs_without_the_pool_give_the_same_factors(monkeypatch):
    train, _ = problem()
    pooled = fit("numba-parallel", train, n_threads=2)
    monkeypatch.setattr(numba_parallel, "MIN_RATINGS_PER_THREAD", 10**9)
    assert same_factors(pooled, fit("numba-parallel", train, n_threads=2))


@pytest.mark.jit_only
def test_a_different_seed_gives_different_factors():
    train, _ = problem()
    assert not same_factors(fit("numba-parallel", train, seed=1), fit("numba-parallel", train, seed=2))


@pytest.mark.jit_only
def test_accuracy_close_to_serial():
    train, test = problem()
    serial = fit("numba", train, test).history_[-1].test_rmse
    parallel = fit("numba-parallel", train, test, n_threads=2).history_[-1].test_rmse
    assert abs(parallel - serial) < 0.02, (serial, parallel)


@pytest.mark.jit_only
def test_four_concurrent_trainings_from_threads_all_finish_correctly():
    train, test = problem()
    expected = fit("numba-parallel", train, test, n_threads=2)
    results, errors = [None] * 4, []

    def train_one(slot):
        try:
            results[slot] = fit("numba-parallel", train, test, n_threads=2)
        except Exception as exc:  # reported below, with the thread that raised it
            errors.append((slot, exc))

    threads = [threading.Thread(target=train_one, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and not any(thread.is_alive() for thread in threads)
    for model in results:
        assert np.isfinite(model.P_).all() and np.isfinite(model.history_[-1].test_rmse)
        assert same_factors(model, expected)


def test_stratified_blocks_share_no_rows_within_a_sub_epoch():
    train, _ = problem()
    g = 4
    user_block = numba_parallel.balanced_blocks(train.users, train.n_users, g)
    item_block = numba_parallel.balanced_blocks(train.items, train.n_items, g)
    users, items, ratings, bounds = group_shuffled(
        np.random.default_rng(0), train.users, train.items, train.values, user_block * g, item_block, g * g, 2,
        threads.shared_pool(2))
    assert sorted(zip(users, items)) == sorted(zip(train.users, train.items))
    for s in range(g):
        seen_users, seen_items = set(), set()
        for b in range(g):
            cell = b * g + (b + s) % g
            block_users = set(users[bounds[cell]:bounds[cell + 1]].tolist())
            block_items = set(items[bounds[cell]:bounds[cell + 1]].tolist())
            assert not block_users & seen_users and not block_items & seen_items
            seen_users |= block_users
            seen_items |= block_items
    counts = np.diff(bounds).reshape(g, g).sum(axis=1)
    assert counts.max() < 1.3 * counts.min()  # user blocks balanced by ratings


@pytest.mark.parametrize("lanes", [0, 4])
def test_grouping_is_independent_of_the_thread_count(lanes):
    train, _ = problem()
    ub = numba_parallel.balanced_blocks(train.users, train.n_users, 3)
    ib = numba_parallel.balanced_blocks(train.items, train.n_items, 3)
    one = group_shuffled(np.random.default_rng(2), train.users, train.items, train.values, ub * 3, ib, 9, 1,
                         lanes=lanes)
    three = group_shuffled(np.random.default_rng(2), train.users, train.items, train.values, ub * 3, ib, 9, 3,
                           threads.shared_pool(3), lanes=lanes)
    for a, b in zip(one, three):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("by_users", [True, False])
def test_lanes_order_each_cell_by_row_in_interleaved_runs(by_users):
    """Read back lane by lane, every cell is sorted by its row and holds the same ratings."""
    train, _ = problem()
    ub = numba_parallel.balanced_blocks(train.users, train.n_users, 3)
    ib = numba_parallel.balanced_blocks(train.items, train.n_items, 3)
    users, items, ratings, bounds = group_shuffled(np.random.default_rng(5), train.users, train.items,
                                                   train.values, ub * 3, ib, 9, lanes=3, by_users=by_users)
    plain = group_shuffled(np.random.default_rng(5), train.users, train.items, train.values, ub * 3, ib, 9)
    np.testing.assert_array_equal(bounds, plain[3])
    for c in range(9):
        start, stop = bounds[c], bounds[c + 1]
        places = np.empty(stop - start, np.int64)
        interleaved_places(start, stop - start, 3, places)
        assert sorted(places.tolist()) == list(range(start, stop))
        rows = (users if by_users else items)[places]
        assert (np.diff(rows) >= 0).all()
        assert sorted(zip(users[start:stop], items[start:stop], ratings[start:stop])) == sorted(
            zip(plain[0][start:stop], plain[1][start:stop], plain[2][start:stop]))


def test_interleaved_places_take_the_runs_in_turn():
    places = np.empty(10, np.int64)
    interleaved_places(100, 10, 4, places)  # runs of 3: [0 1 2] [3 4 5] [6 7 8] [9]
    assert places.tolist() == [100, 104, 107, 101, 105, 108, 102, 106, 109, 103]


def test_each_cell_is_shuffled_uniformly():
    """Three ratings in one cell (and one in another): each of the 3! orders about equally often."""
    users, items = np.array([0, 1, 0, 2], np.int32), np.array([0, 0, 1, 0], np.int32)
    ratings = np.arange(4, dtype=np.float32)
    cell_of_user = np.array([0, 1, 0], np.int32)  # ratings 0, 2, 3 in cell 0; rating 1 in cell 1
    rng = np.random.default_rng(0)
    counts = {}
    for _ in range(6000):
        _, _, out, bounds = group_shuffled(rng, users, items, ratings, cell_of_user,
                                                          np.zeros(3, np.int32), 2)
        assert bounds.tolist() == [0, 3, 4] and out[3] == 1
        counts[tuple(out[:3].tolist())] = counts.get(tuple(out[:3].tolist()), 0) + 1
    assert len(counts) == 6 and min(counts.values()) > 850


def test_each_rows_ratings_are_shuffled_uniformly_in_lanes():
    """User 0's three ratings in a cell with user 1's two, in runs [0 0 0] and [1 1] taken in turn:
    user 0's at places 0, 2 and 4, in each of the 3! orders about equally often."""
    users, items = np.array([0, 1, 0, 0, 1], np.int32), np.array([0, 0, 1, 2, 1], np.int32)
    ratings = np.arange(5, dtype=np.float32)
    rng = np.random.default_rng(0)
    counts = {}
    for _ in range(6000):
        out_users, _, out, _ = group_shuffled(rng, users, items, ratings, np.zeros(2, np.int32),
                                              np.zeros(3, np.int32), 1, lanes=2)
        assert out_users.tolist() == [0, 1, 0, 1, 0]
        mine = tuple(out[[0, 2, 4]].tolist())
        counts[mine] = counts.get(mine, 0) + 1
    assert len(counts) == 6 and min(counts.values()) > 850


def test_parallel_kernel_with_one_block_is_the_serial_kernel():
    train, _ = problem(n_ratings=2000)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(train))
    args = (train.users[order], train.items[order], train.values[order])
    states = []
    for _ in range(2):
        r = np.random.default_rng(1)
        states.append(dict(mu=np.float32(3.5), bu=np.zeros(train.n_users, np.float32),
                           bi=np.zeros(train.n_items, np.float32),
                           P=r.normal(0, 0.1, (train.n_users, 4)).astype(np.float32),
                           Q=r.normal(0, 0.1, (train.n_items, 4)).astype(np.float32)))
    serial = numba_jit.run_epoch(*args, **states[0], lr=np.float32(0.01), reg=np.float32(0.05), biased=True)
    bounds = np.array([0, len(train)], np.int64)
    sse = np.zeros(1)
    assert numba_parallel.run_blocks(*args, bounds, np.zeros((1, 1), np.int64), np.full((1, 1), -1),
                                     np.zeros(1, np.int64), 1, np.zeros(1, np.int64), np.zeros(1, np.int64),
                                     np.zeros(1, np.int64), 1,
                                     states[1]["mu"], states[1]["bu"], states[1]["bi"], states[1]["P"], states[1]["Q"],
                                     np.float32(0.01), np.float32(0.05), True, sse, False, np.ones((1, 2), np.float32),
                                     np.ones((1, 2), np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32),
                                     True, False, np.zeros(1, np.int64), np.zeros(1, np.int64), 4)
    assert sse[0] == serial
    for name in ("bu", "bi", "P", "Q"):
        np.testing.assert_array_equal(states[0][name], states[1][name])


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_epoch_order_is_a_permutation_and_reproducible(n):
    order = epoch_order(np.random.default_rng(5), n)
    assert order.dtype == np.int32 and sorted(order.tolist()) == list(range(n))
    np.testing.assert_array_equal(order, epoch_order(np.random.default_rng(5), n))


def test_epoch_order_is_uniform():
    counts = {}
    rng = np.random.default_rng(0)
    for _ in range(6000):
        key = tuple(permutation_from_uniforms(rng.random(3)).tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6 and min(counts.values()) > 850  # each of the 3! orders ~1000 times


def test_grid_size_rules():
    mib = 1 << 20
    assert numba_parallel.grid_size(6040, 3706, 100, 900_000, 1, block_bytes=mib) == 4
    assert numba_parallel.grid_size(6040, 3706, 100, 900_000, 2, block_bytes=mib) == 4
    assert numba_parallel.grid_size(6040, 3706, 100, 900_000, 3, block_bytes=mib) == 6
    assert numba_parallel.grid_size(6040, 3706, 100, 900_000, 1, block_bytes=mib // 4) == 16  # 512 KiB L2: 15, even
    big = numba_parallel.grid_size(200_000, 40_000, 50, 9_000_000, 2)
    fits = int(np.ceil((200_000 + 40_000) * 50 * 4 / numba_parallel.BLOCK_CACHE_BYTES))
    assert big == max(4, min(fits, numba_parallel.MAX_GRID))
    assert numba_parallel.grid_size(10, 10, 4, 50, 2) == 4  # tiny data: still 2 blocks per thread


def test_block_bytes_are_a_quarter_of_the_measured_l2():
    l2 = numba_parallel.l2_cache_bytes()
    assert l2 >= 64 << 10
    assert l2 // 4 == numba_parallel.BLOCK_CACHE_BYTES
    sys_l2 = [index for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")
              if (index / "level").exists() and (index / "level").read_text().strip() == "2"]
    if sys_l2:
        size = (sys_l2[0] / "size").read_text().strip()
        assert l2 == int(size.rstrip("KMG")) * {"K": 1 << 10, "M": 1 << 20}.get(size[-1], 1)


def test_block_order_visits_every_block_once_per_epoch_without_shared_rows():
    train, _ = problem()
    rng = np.random.default_rng(0)
    plan = numba_parallel.BlockPlan(train.users, train.items, train.values, rng, n_users=train.n_users,
                                    n_items=train.n_items, n_factors=8, options={"n_threads": 2})
    g = plan.n_blocks
    schedules = []
    for epoch in range(1, 4):
        arguments = plan.next_epoch(epoch)
        users, items, schedule = arguments["users"], arguments["items"], arguments["schedule"]
        assert sorted(schedule.ravel().tolist()) == list(range(g * g))
        for cells in schedule:
            assert len(set(cells // g)) == g and len(set(cells % g)) == g
        schedules.append(schedule)
    assert any((a != b).any() for a, b in zip(schedules, schedules[1:]))  # the order changes by epoch
    assert sorted(zip(users.tolist(), items.tolist())) == sorted(zip(train.users.tolist(), train.items.tolist()))


def test_effective_threads_is_what_the_data_can_feed(monkeypatch):
    """min(n_threads, ratings // MIN_RATINGS_PER_THREAD), at least 1; None asks for every core."""
    monkeypatch.setattr(numba_parallel, "MIN_RATINGS_PER_THREAD", per := 100_000)
    assert numba_parallel.effective_threads(0, 8) == 1
    assert numba_parallel.effective_threads(per - 1, 8) == 1
    assert numba_parallel.effective_threads(3 * per, 8) == 3
    assert numba_parallel.effective_threads(900_000, 16) == 900_000 // per  # ML-1M on 16 cores: not 1
    assert numba_parallel.effective_threads(10**9, 2) == 2
    assert numba_parallel.effective_threads(10**9, None) == numba_parallel.available_cores()


@pytest.mark.jit_only
def test_the_epoch_runs_on_the_effective_threads(monkeypatch):
    """The kernel spreads an epoch over effective_threads() threads: 3 threads here, each owning whole
    user blocks, every user block owned by exactly one."""
    train, _ = problem()
    monkeypatch.setattr(numba_parallel, "MIN_RATINGS_PER_THREAD", len(train) // 3)
    used = []
    real = numba_parallel.owned

    def spy(owner, n_threads):
        found = real(owner, n_threads)
        used.append((owner, found))
        return found

    monkeypatch.setattr(numba_parallel, "owned", spy)
    fit("numba-parallel", train, n_threads=8)
    assert used
    for owner, found in used[1:]:  # the first is the warm-up's 2 x 2 problem
        assert len(found) == 3 and all(len(mine) for mine in found)
        assert sorted(np.concatenate(found).tolist()) == list(range(len(owner)))
        for t, mine in enumerate(found):
            assert set(owner[mine]) == {t}


def test_the_plans_once_per_fit_work_gives_the_epoch_run_epoch_works_out_alone():
    """The plan hands each epoch the blocks' predecessors (from its pairing and shifts), the threads'
    orders and the blocks' first codes (so the AdaGrad row norms are set by each sub-epoch-0 block):
    the epoch equals the one that works them out itself, the norms taken before it."""
    train, _ = problem()
    plan = numba_parallel.BlockPlan(train.users, train.items, train.values, np.random.default_rng(0),
                                    n_users=train.n_users, n_items=train.n_items, n_factors=4,
                                    options={"n_threads": 2})
    arguments = plan.next_epoch(1)
    np.testing.assert_array_equal(arguments["previous"], predecessors(arguments["schedule"]))
    user_edges, item_edges = arguments["row_edges"]
    assert user_edges[0] == 0 and user_edges[-1] == train.n_users and (np.diff(user_edges) > 0).all()
    assert item_edges[0] == 0 and item_edges[-1] == train.n_items and (np.diff(item_edges) > 0).all()
    bare = {name: arguments[name] for name in ("users", "items", "ratings", "bounds", "schedule", "n_threads")}
    results = []
    for extras in (arguments, bare):
        r = np.random.default_rng(1)
        state = dict(mu=np.float32(3.5), bu=np.zeros(train.n_users, np.float32), bi=np.zeros(train.n_items, np.float32),
                     P=r.normal(0, 0.1, (train.n_users, 4)).astype(np.float32),
                     Q=r.normal(0, 0.1, (train.n_items, 4)).astype(np.float32),
                     adagrad_users=np.ones((train.n_users, 2), np.float32),
                     adagrad_items=np.ones((train.n_items, 2), np.float32))
        sse = numba_parallel.run_epoch(**extras, **state, lr=np.float32(0.05), reg=np.float32(0.05), biased=True)
        results.append((sse, state))
    (sse_plan, plan_state), (sse_bare, bare_state) = results
    assert sse_plan == pytest.approx(sse_bare, rel=1e-6)
    for name in ("P", "Q", "bu", "bi", "adagrad_users", "adagrad_items"):
        np.testing.assert_allclose(plan_state[name], bare_state[name], rtol=1e-5, atol=1e-7)


def test_predecessors_are_the_previous_sub_epoch_on_the_same_item_block():
    g = 6
    rng = np.random.default_rng(3)
    pairing, shifts = rng.permutation(g), rng.permutation(g)
    schedule = np.arange(g) * g + pairing[(np.arange(g)[None, :] + shifts[:, None]) % g]
    previous = predecessors(schedule)
    assert (previous[0] == -1).all()
    for s in range(1, g):
        for b in range(g):
            before = previous[s, b]
            assert before in schedule[s - 1] and before % g == schedule[s, b] % g

def test_blocks_run_by_whichever_thread_claims_them_give_the_serial_epoch():
    """A thread runs the ready blocks of its own user blocks first, then other threads'; a user block
    another thread holds it leaves alone, and finding nothing ready it comes back with every place
    kept. Here one user block is held while the second thread runs (it stops short, having run other
    blocks, its own and the first thread's), then freed for the first thread, which finishes: the epoch
    equals the one-thread epoch bit for bit."""
    train, _ = problem()
    plan = numba_parallel.BlockPlan(train.users, train.items, train.values, np.random.default_rng(0),
                                    n_users=train.n_users, n_items=train.n_items, n_factors=4,
                                    options={"n_threads": 2})
    arguments = plan.next_epoch(1)
    users, items, ratings, bounds, schedule = (arguments[name] for name in
                                               ("users", "items", "ratings", "bounds", "schedule"))
    g = schedule.shape[1]
    previous = predecessors(schedule)
    odd, even = np.arange(1, g, 2), np.arange(0, g, 2)
    results = []
    for turns in ([(np.arange(g), g)], [(np.concatenate([odd, even]), len(odd)), (np.concatenate([even, odd]),
                                                                                 len(even))]):
        r = np.random.default_rng(1)
        state = [np.zeros(train.n_users, np.float32), np.zeros(train.n_items, np.float32),
                 r.normal(0, 0.1, (train.n_users, 4)).astype(np.float32),
                 r.normal(0, 0.1, (train.n_items, 4)).astype(np.float32)]
        sse, done = np.zeros(g * g), np.zeros(g * g, np.int64)
        progress, busy = np.zeros(g, np.int64), np.zeros(g, np.int64)
        finished = []
        for t, (order, n_own) in enumerate(turns):
            if len(turns) == 2:
                busy[0] = 1 - t  # user block 0 (the first thread's) held by the first thread, then freed
            finished.append(numba_parallel.run_blocks(
                users, items, ratings, bounds, schedule, previous, order, n_own, progress, busy, done, 1,
                np.float32(3.5), *state[:2], *state[2:], np.float32(0.01), np.float32(0.05), True, sse,
                False, np.ones((1, 2), np.float32), np.ones((1, 2), np.float32), np.zeros(1, np.float32),
                np.zeros(1, np.float32), True, False, np.zeros(1, np.int64), np.zeros(1, np.int64), 4))
            if len(turns) == 2 and t == 0:
                assert progress[0] == 0 and progress[1:].sum() > 0 and progress[even[1:]].sum() > 0
        assert finished[-1] and (progress == g).all() and not busy.any()
        results.append((sse, state, finished))
    (sse_one, state_one, _), (sse_two, state_two, finished) = results
    assert finished == [False, True]
    np.testing.assert_array_equal(sse_one, sse_two)
    for a, b in zip(state_one, state_two):
        np.testing.assert_array_equal(a, b)

"""The reference engine: Simon Funk's SGD as a plain Python loop over the ratings.

This is the naive loop from the original question made correct, kept readable on purpose: it is the
specification the fast engines are tested against, and it is slow (the Speed page measures how slow)
because every rating goes through the interpreter.
"""

import numpy as np


def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users=None, adagrad_items=None):
    """One SGD pass over the ratings in the given order; updates ``bu, bi, P, Q`` in place.

    For each rating r_ui:  e = r_ui - (mu + b_u + b_i + p_u . q_i), then
    b_u += lr (e - reg b_u),  b_i += lr (e - reg b_i),
    p_u += lr (e q_i - reg p_u),  q_i += lr (e p_u - reg q_i), with the *old* p_u and q_i on the right.
    Returns the sum of the squared errors seen during the pass. With the AdaGrad accumulators
    ``adagrad_users`` and ``adagrad_items`` (the ``adagrad`` step rule): :func:`run_epoch_adagrad`.
    """
    if adagrad_users is not None:
        return run_epoch_adagrad(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users,
                                 adagrad_items)
    squared_error_sum = 0.0
    for u, i, r in zip(users.tolist(), items.tolist(), ratings.tolist()):
        p_u, q_i = P[u], Q[i]  # views: writing into them writes into P and Q
        prediction = mu + bu[u] + bi[i] + np.dot(p_u, q_i)
        error = r - prediction  # recomputed for every rating, from the current factors
        squared_error_sum += float(error) * float(error)
        if biased:
            bu[u] += lr * (error - reg * bu[u])
            bi[i] += lr * (error - reg * bi[i])
        old_p_u = p_u.copy()  # q_i's step must use p_u as it was before this rating's update
        p_u += lr * (error * q_i - reg * p_u)
        q_i += lr * (error * old_p_u - reg * q_i)
    return squared_error_sum


def _visits(users, items, ratings, mu, bu, bi, P, Q):
    """``(u, i, p_u, q_i, e)`` for each rating in order: ``p_u, q_i`` views into ``P, Q`` and
    ``e = r_ui - (mu + b_u + b_i + p_u . q_i)`` from the parameters as they are when it is reached."""
    for u, i, r in zip(users.tolist(), items.tolist(), ratings.tolist()):
        p_u, q_i = P[u], Q[i]
        yield u, i, p_u, q_i, r - (mu + bu[u] + bi[i] + np.dot(p_u, q_i))


def run_epoch_adagrad(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, adagrad_users, adagrad_items):
    """One SGD pass with AdaGrad step sizes per row (the ``adagrad`` step rule); updates ``bu, bi, P, Q``
    and the accumulators in place. ``adagrad_users[u]`` holds (G_u, H_u), the squared gradients of p_u
    (averaged over the K factors) and of b_u summed so far, starting at 1; items likewise.

    For each rating r_ui:  e = r_ui - (mu + b_u + b_i + p_u . q_i),  g_b = e - reg b_u,
    b_u += lr / sqrt(H_u) g_b,  H_u += g_b^2  (b_i likewise),
    g_p = e q_i - reg p_u,  g_q = e p_u - reg q_i  (old values),
    p_u += lr / sqrt(G_u) g_p,  G_u += mean(g_p^2),  q_i += lr / sqrt(G_i) g_q,  G_i += mean(g_q^2).
    Returns the sum of the squared errors seen during the pass.
    """
    squared_error_sum = 0.0
    for u, i, p_u, q_i, error in _visits(users, items, ratings, mu, bu, bi, P, Q):
        squared_error_sum += float(error) * float(error)
        if biased:
            g_user, g_item = error - reg * bu[u], error - reg * bi[i]
            bu[u] += lr / np.sqrt(adagrad_users[u, 1]) * g_user
            bi[i] += lr / np.sqrt(adagrad_items[i, 1]) * g_item
            adagrad_users[u, 1] += g_user * g_user
            adagrad_items[i, 1] += g_item * g_item
        g_p, g_q = error * q_i - reg * p_u, error * p_u - reg * q_i
        p_u += lr / np.sqrt(adagrad_users[u, 0]) * g_p
        q_i += lr / np.sqrt(adagrad_items[i, 0]) * g_q
        adagrad_users[u, 0] += np.mean(g_p * g_p)
        adagrad_items[i, 0] += np.mean(g_q * g_q)
    return squared_error_sum


# --- the other error schedules (see mfcore.engines.SCHEDULES) -----------------------------------


def run_epoch_per_factor(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    r"""The ``per-factor`` schedule: the error is refreshed after every single parameter update.

    For each rating, :math:`e = r_{ui} - \hat r_{ui}` is computed once (O(K)); the biases step with it,
    then the error is corrected for their change; then for each factor k in turn

    .. math::
        p_{uk}' = p_{uk} + \gamma (e\, q_{ik} - \lambda p_{uk}), \quad
        q_{ik}' = q_{ik} + \gamma (e\, p_{uk} - \lambda q_{ik}), \quad
        e \leftarrow e - (p_{uk}' q_{ik}' - p_{uk} q_{ik})

    so that :math:`e` always equals :math:`r_{ui} - \hat r_{ui}` for the current parameters, at O(1)
    per factor instead of a fresh O(K) dot product. Returns the sum of the errors met first, squared.
    """
    squared_error_sum = 0.0
    for u, i, p_u, q_i, error in _visits(users, items, ratings, mu, bu, bi, P, Q):
        squared_error_sum += float(error) * float(error)
        if biased:
            old_bu, old_bi = bu[u], bi[i]
            bu[u] += lr * (error - reg * old_bu)
            bi[i] += lr * (error - reg * old_bi)
            error -= (bu[u] - old_bu) + (bi[i] - old_bi)  # the prediction rose by the biases' steps
        for k in range(P.shape[1]):
            p, q = p_u[k], q_i[k]
            p_u[k] = p + lr * (error * q - reg * p)
            q_i[k] = q + lr * (error * p - reg * q)
            error -= p_u[k] * q_i[k] - p * q  # only term k of p_u . q_i changed
    return squared_error_sum


def run_epoch_per_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    r"""The ``per-epoch`` schedule (the original question's first code): stale errors for a whole epoch.

    First every error :math:`e_n = r_n - \hat r_n` is computed from the parameters as they are at the
    start of the epoch; then each rating, in order, takes the per-rating step with its stale
    :math:`e_n` (and the current :math:`p_u, q_i`; :math:`q_i` uses :math:`p_u` from before the step):

    .. math::
        b_u \mathrel{+}= \gamma (e_n - \lambda b_u), \; b_i \mathrel{+}= \gamma (e_n - \lambda b_i), \;
        p_u \mathrel{+}= \gamma (e_n q_i - \lambda p_u), \; q_i \mathrel{+}= \gamma (e_n p_u - \lambda q_i)

    The original code kept the errors in a dense users x items matrix; one number per rating is enough.
    Returns the sum of the stale errors squared, i.e. the exact training SSE at the start of the epoch.
    """
    # every error from the parameters as they are now, before any of this epoch's updates
    errors = ratings - (mu + bu[users] + bi[items] + np.einsum("nk,nk->n", P[users], Q[items]))
    for u, i, error in zip(users.tolist(), items.tolist(), errors):
        p_u, q_i = P[u], Q[i]
        if biased:
            bu[u] += lr * (error - reg * bu[u])
            bi[i] += lr * (error - reg * bi[i])
        old_p_u = p_u.copy()
        p_u += lr * (error * q_i - reg * p_u)
        q_i += lr * (error * old_p_u - reg * q_i)
    return float(np.dot(errors.astype(np.float64), errors.astype(np.float64)))


def refresh_residuals(users, items, order, P, Q, residual, cached_feature, feature):
    r"""Make ``residual`` hold :math:`c_n = \sum_{k \ne f} p_{uk} q_{ik}` for ``feature`` f.

    ``residual`` is indexed by training rating (``order[n]`` for the epoch's n-th rating) and
    ``cached_feature[0]`` says which feature it leaves out (-1: not built yet). Building costs O(K) per
    rating, once; moving from feature g to f costs O(1): :math:`c_n \mathrel{+}= p_{ug} q_{ig} - p_{uf} q_{if}`.
    """
    previous = int(cached_feature[0])
    if previous == feature:
        return
    for n in range(len(order)):
        u, i, m = users[n], items[n], order[n]
        if previous < 0:
            residual[m] = np.dot(P[u], Q[i]) - P[u, feature] * Q[i, feature]
        else:
            residual[m] += P[u, previous] * Q[i, previous] - P[u, feature] * Q[i, feature]
    cached_feature[0] = feature


def run_epoch_funk(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased,
                   order, residual, cached_feature, feature):
    r"""The ``funk`` schedule (Funk 2006): one pass that trains only feature f = ``feature``.

    The other features' part of every prediction is cached per rating (see :func:`refresh_residuals`),
    so each rating costs O(1) instead of O(K):

    .. math::
        e &= r_{ui} - (\mu + b_u + b_i + c_n + p_{uf} q_{if}) \\
        b_u &\mathrel{+}= \gamma (e - \lambda b_u), \quad b_i \mathrel{+}= \gamma (e - \lambda b_i) \\
        p_{uf} &\mathrel{+}= \gamma (e\, q_{if} - \lambda p_{uf}), \quad
        q_{if} \mathrel{+}= \gamma (e\, p_{uf} - \lambda q_{if}) \quad \text{(old } p_{uf} \text{ on the right)}

    Returns the sum of the squared errors met.
    """
    refresh_residuals(users, items, order, P, Q, residual, cached_feature, feature)
    f = feature
    squared_error_sum = 0.0
    for n in range(len(ratings)):
        u, i = users[n], items[n]
        error = ratings[n] - (mu + bu[u] + bi[i] + residual[order[n]] + P[u, f] * Q[i, f])
        squared_error_sum += float(error) * float(error)
        if biased:
            bu[u] += lr * (error - reg * bu[u])
            bi[i] += lr * (error - reg * bi[i])
        p, q = P[u, f], Q[i, f]
        P[u, f] = p + lr * (error * q - reg * p)
        Q[i, f] = q + lr * (error * p - reg * q)
    return squared_error_sum

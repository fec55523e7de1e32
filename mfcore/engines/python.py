"""The reference engine: Simon Funk's SGD as a plain Python loop over the ratings.

This is the seed's loop made correct, kept readable on purpose: it is the specification the fast
engines are tested against, and it is slow (a few microseconds per rating) because every rating goes
through the interpreter.
"""

import numpy as np


def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased):
    """One SGD pass over the ratings in the given order; updates ``bu, bi, P, Q`` in place.

    For each rating r_ui:  e = r_ui - (mu + b_u + b_i + p_u . q_i), then
    b_u += lr (e - reg b_u),  b_i += lr (e - reg b_i),
    p_u += lr (e q_i - reg p_u),  q_i += lr (e p_u - reg q_i), with the *old* p_u and q_i on the right.
    Returns the sum of the squared errors seen during the pass.
    """
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

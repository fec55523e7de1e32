"""Vectorized mini-batch gradient descent in NumPy.

A different algorithm on purpose: the ratings of a batch are all predicted with the factors as they
were at the start of the batch, and their gradients are summed per row with scatter-adds
(``np.add.at``) before one update. With ``batch_size=1`` this is exactly per-rating SGD; larger batches
trade a staler error for fewer trips through the interpreter.
"""

import numpy as np


def run_epoch(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, batch_size):
    """One pass in batches of ``batch_size``; for each batch B, with e_n computed from the old factors:

    p_u += lr * sum_{n in B, u_n = u} (e_n q_{i_n} - reg p_u), and likewise for q_i, b_u, b_i.
    Returns the sum of the squared errors.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size == {batch_size}, must be >= 1.")
    squared_error_sum = 0.0
    for start in range(0, len(ratings), batch_size):
        u = users[start:start + batch_size]
        i = items[start:start + batch_size]
        p_u, q_i = P[u], Q[i]
        errors = ratings[start:start + batch_size] - (mu + bu[u] + bi[i] + np.einsum("nk,nk->n", p_u, q_i))
        squared_error_sum += float(np.dot(errors, errors))
        if biased:
            np.add.at(bu, u, lr * (errors - reg * bu[u]))
            np.add.at(bi, i, lr * (errors - reg * bi[i]))
        np.add.at(P, u, lr * (errors[:, None] * q_i - reg * p_u))
        np.add.at(Q, i, lr * (errors[:, None] * p_u - reg * q_i))
    return squared_error_sum

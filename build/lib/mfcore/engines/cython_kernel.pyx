# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The per-rating SGD kernel in Cython: the same loop and update as ``numba_jit.run_epoch``.

Typed memoryviews (float32 or float64 through a fused type, int32 codes), no bounds or wraparound
checks, the GIL released for the epoch; compiled by :mod:`mfcore.engines.cython_engine` on first use.
"""

cimport cython

ctypedef fused real:
    float
    double


def run_epoch(const int[::1] users, const int[::1] items, const real[::1] ratings, real mu,
              real[::1] bu, real[::1] bi, real[:, ::1] P, real[:, ::1] Q, real lr, real reg,
              bint biased):
    """One per-rating SGD epoch over the ratings in the given order; returns the squared-error sum."""
    cdef Py_ssize_t n, k, n_factors = P.shape[1]
    cdef int u, i
    cdef real prediction, error, step, p, q
    cdef real decay = 1 - lr * reg
    cdef double squared_error_sum = 0.0
    with nogil:
        for n in range(ratings.shape[0]):
            u = users[n]
            i = items[n]
            prediction = mu + bu[u] + bi[i]
            for k in range(n_factors):
                prediction = prediction + P[u, k] * Q[i, k]
            error = ratings[n] - prediction
            squared_error_sum += error * error
            if biased:
                bu[u] = bu[u] + lr * (error - reg * bu[u])
                bi[i] = bi[i] + lr * (error - reg * bi[i])
            step = lr * error
            for k in range(n_factors):
                p = P[u, k]
                q = Q[i, k]
                P[u, k] = p * decay + step * q
                Q[i, k] = q * decay + step * p
    return squared_error_sum

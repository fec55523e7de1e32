r"""The item-item models: :class:`EASE` (Steck 2019) and :class:`ItemKNN` (cosine neighbours), with the
scoring contract of the factor models (:mod:`mfcore.models.ranking`).

Both learn an item-item weight matrix :math:`B` (``B_``, ``n_items x n_items``) from the binary matrix
:math:`X` of training positives (users x items) and score a user by their row of :math:`X`:
:math:`\hat x_{u\cdot} = x_u B`. A user without a training positive, or a new user without a known
positive, gets the popularity scores (each item's training positives), as in every model. Folding in
a new user is exact and needs no solve: their "vector" is their indicator row over the items.

Both build the Gram matrix :math:`G = X^\top X` densely (``n_items``\ :sup:`2` numbers), so a catalogue
whose Gram matrix and its temporaries (:func:`gram_peak_bytes`) would not fit the memory cap
(:func:`mfcore.data.memory.memory_cap_bytes`) is refused before anything is allocated.
"""

from __future__ import annotations

import time

import numpy as np

from ..data.memory import CLI_CAP_FRACTION, memory_cap_bytes
from . import model_file
from .params import EASE_PARAMETERS, ITEMKNN_PARAMETERS
from .estimator import finish_class
from .ranking import RankingEpochResult, RankingFactorizer
from .topn_metrics import topn_metrics

__all__ = ["EASE", "ItemKNN", "gram_peak_bytes", "check_gram_memory"]


def gram_peak_bytes(n_items: int) -> int:
    """Peak bytes of fitting an item-item model on ``n_items`` items, 32 per item pair: the float64
    Gram matrix with the inversion's copy and result (EASE), or the similarities with their negation
    and the int64 partition indices (item-kNN)."""
    return 32 * int(n_items) ** 2


def check_gram_memory(n_items: int, cap: int | None = None) -> None:
    """Raise a ValueError of one sentence when :func:`gram_peak_bytes` exceeds ``cap`` (default: the
    memory cap of one user's process)."""
    cap = memory_cap_bytes(CLI_CAP_FRACTION) if cap is None else int(cap)
    need = gram_peak_bytes(n_items)
    if need > cap:
        raise ValueError(f"{n_items:,} items need an item-item matrix of {n_items:,} x {n_items:,} "
                         f"({need / 2**30:.1f} GiB while fitting), more than the memory cap of "
                         f"{cap / 2**30:.1f} GiB: use a factor model (ALS, BPR) for this catalogue.")


class ItemModel(RankingFactorizer):
    """Base of the item-item models: one closed-form "epoch" (``_weights``) instead of a loop."""

    FITTED_ARRAYS = ("B_",)
    n_epochs = 1
    n_factors = 0

    def _positives_matrix(self, users: np.ndarray, items: np.ndarray, n_users: int, n_items: int):
        import scipy.sparse as sp

        return sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=(n_users, n_items))

    def fit_iter(self, X, test=None, validation=None, *, k: int = 10, max_users: int | None = None):
        """Fit in one step and yield one :class:`~mfcore.models.ranking.RankingEpochResult` (epoch 1,
        with the NDCG@``k`` and recall@``k`` of ``test`` and of ``validation``, each when given)."""
        train, test, validation = self._inputs(X, test, validation)
        keep = self._prepare(train)
        check_gram_memory(train.n_items)
        self.compile_seconds_ = 0.0
        start = time.perf_counter()
        self.n_positives_ = int(keep.sum())
        self._X = self._positives_matrix(train.users[keep], train.items[keep], train.n_users, train.n_items)
        self.B_ = self._weights(self._X)
        self.fit_seconds_ = time.perf_counter() - start
        scored = {}
        for name, held_out in (("validation", validation), ("test", test)):
            if held_out is not None and len(held_out):
                found = topn_metrics(self.score_codes, train, held_out, k, self.positive_threshold_,
                                     max_users=max_users, seed=self.seed)
                scored |= {f"{name}_ndcg": found["ndcg"], f"{name}_recall": found["recall"]}
        result = RankingEpochResult(1, None, self.fit_seconds_, k=k, **scored)
        self.history_.append(result)
        yield result

    def _weights(self, X):  # pragma: no cover - each model defines it
        raise NotImplementedError

    def _forget(self) -> None:
        self.B_ = None

    # --- scoring: x_u B ----------------------------------------------------------------------------

    def _apply(self, rows) -> np.ndarray:
        """``rows @ B_`` as a dense float64 array (``rows``: a sparse users x items matrix)."""
        out = rows @ self.B_
        return np.asarray(out.toarray() if hasattr(out, "toarray") else out, np.float64)

    def score_codes(self, codes: np.ndarray) -> np.ndarray:
        r"""Scores of every item for user CODES (-1 for an unknown user): :math:`x_u B`, or the
        popularity scores for a user without a training positive."""
        codes = np.asarray(codes, np.int64)
        known = codes >= 0
        safe = np.where(known, codes, 0)
        out = self._apply(self._X[safe])
        cold = ~known | (self._user_positives[safe] == 0)
        if cold.any():
            out[cold] = self._popularity
        return out

    def _fold_in_codes(self, positives: np.ndarray) -> np.ndarray:
        """The indicator row of a new user's positives over the items (float32)."""
        vector = np.zeros(len(self.item_ids_), np.float32)
        vector[np.asarray(positives, np.int64)] = 1
        return vector

    def vector_scores(self, vector: np.ndarray) -> np.ndarray:
        """Scores of every item for an indicator row (e.g. from :meth:`fold_in`): :math:`x B`."""
        import scipy.sparse as sp

        return self._apply(sp.csr_matrix(np.asarray(vector, np.float32)[None, :]))[0]

    def fold_in_scores(self, positives: list[np.ndarray]) -> np.ndarray:
        """Scores of new users given by their positives' item codes, all at once (popularity for a user
        with none)."""
        import scipy.sparse as sp

        lengths = [len(codes) for codes in positives]
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        indices = (np.concatenate([np.asarray(c, np.int64) for c in positives]) if positives
                   else np.zeros(0, np.int64))
        rows = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr),
                             shape=(len(positives), len(self.item_ids_)))
        out = self._apply(rows)
        empty = np.asarray(lengths) == 0
        if empty.any():
            out[empty] = self._popularity
        return out

    def similar_items(self, item, n: int = 10):
        r"""The ``n`` items with the largest weights :math:`B_{ij}` from ``item`` :math:`i` (how much a
        positive on :math:`i` raises each item's score), as a DataFrame of ``item`` and ``score``; the
        item itself and items without a training positive are left out."""
        code = int(np.atleast_1d(self._id_maps.item_codes(np.atleast_1d(item).tolist()))[0])
        if code < 0:
            raise KeyError(f"item {item!r} is not known to the model.")
        row = self.B_[code]
        weights = np.asarray(row.toarray()[0] if hasattr(row, "toarray") else row, np.float64)
        if hasattr(row, "toarray"):  # a neighbour list: items outside it are not similar at all
            weights[np.setdiff1d(np.arange(len(weights)), row.indices)] = -np.inf
        weights[self._popularity == 0] = -np.inf
        return self._top(weights, [code], n)

    # --- model files ---------------------------------------------------------------------------------

    def _file_state(self) -> tuple[str, dict, dict]:
        """The common fields and counts, the positives matrix (``X_indptr``, ``X_indices``) and the
        weights: ``B`` dense (EASE) or ``B_indptr``, ``B_indices``, ``B_data`` (item-kNN's sparse rows)."""
        fields, arrays = self._common_state()
        arrays.update(X_indptr=self._X.indptr.astype(np.int64), X_indices=self._X.indices.astype(np.int32))
        if hasattr(self.B_, "indptr"):
            arrays.update(B_indptr=self.B_.indptr.astype(np.int64), B_indices=self.B_.indices.astype(np.int32),
                          B_data=self.B_.data.astype(np.float32))
        else:
            arrays["B"] = self.B_
        return self.KIND, fields, arrays

    @classmethod
    def _from_file(cls, contents):
        import scipy.sparse as sp

        arrays, train = contents.arrays, contents.train
        entry = model_file.entry
        model = cls._restore(contents)
        shape = (train.n_items, train.n_items)

        def csr(prefix, rows, cols, data=None):
            indptr, indices = entry(arrays, f"{prefix}_indptr", 1, "iu"), entry(arrays, f"{prefix}_indices", 1, "iu")
            values = np.ones(len(indices), np.float32) if data is None else entry(arrays, data, 1, "f")
            if (len(indptr) != rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices)
                    or len(values) != len(indices) or (len(indices) and (indices.min() < 0 or indices.max() >= cols))):
                raise ValueError(f"the {prefix} matrix does not fit the id maps")
            return sp.csr_matrix((values, indices.astype(np.int32), indptr.astype(np.int64)), shape=(rows, cols))

        model._X = csr("X", train.n_users, train.n_items)
        if "B" in arrays:
            model.B_ = entry(arrays, "B", 2, "f")
            if model.B_.shape != shape:
                raise ValueError(f"B has shape {model.B_.shape}, expected {shape}")
        else:
            model.B_ = csr("B", *shape, data="B_data")
        return model


class EASE(ItemModel):
    r"""EASE, Embarrassingly Shallow Autoencoder (Steck 2019): the item-item weights :math:`B` that
    minimise :math:`\lVert X - X B \rVert_F^2 + \lambda \lVert B \rVert_F^2` subject to
    :math:`\operatorname{diag}(B) = 0` (no item predicts itself), in closed form:

    .. math::
        P = (X^\top X + \lambda I)^{-1}, \qquad B_{ij} = -P_{ij} / P_{jj}\ (i \ne j), \quad B_{jj} = 0.

    One dense inversion of the ``n_items x n_items`` Gram matrix (float64, :math:`O(I^3)`); ``B_`` is
    kept in float32. :math:`X` holds the training positives (ratings >= ``positive_threshold_``).

    Parameters
    ----------
    {parameters}
    """

    KIND = "ease"
    PARAMETERS = EASE_PARAMETERS

    def _weights(self, X):
        G = np.asarray((X.T @ X).toarray(), np.float64)
        G[np.diag_indices_from(G)] += float(self.reg)
        P = np.linalg.inv(G)
        del G
        P /= -np.diag(P)
        np.fill_diagonal(P, 0.0)
        return P.astype(np.float32)


class ItemKNN(ItemModel):
    r"""Item-based k-nearest neighbours with shrunk cosine similarity (Sarwar et al. 2001):

    .. math::
        s_{ij} = \frac{|U_i \cap U_j|}{\sqrt{|U_i|\,|U_j|} + h}

    (:math:`U_i`: the users with a positive on item :math:`i`; :math:`h` = ``shrinkage`` damps
    similarities resting on few users). Each item keeps its ``n_neighbors`` most similar items: row
    :math:`i` of :math:`B` holds :math:`s_{ij}` for those :math:`j`, 0 elsewhere, and a user's score of
    item :math:`j` is :math:`\sum_{i \in I_u} B_{ij}`, the similarities of :math:`j` to the user's
    positives among whose neighbours it is.

    Parameters
    ----------
    {parameters}
    """

    KIND = "itemknn"
    PARAMETERS = ITEMKNN_PARAMETERS

    def _weights(self, X):
        import scipy.sparse as sp

        C = np.asarray((X.T @ X).toarray(), np.float64)
        counts = np.sqrt(np.diag(C).copy())
        C /= np.outer(counts, counts) + float(self.shrinkage)
        np.fill_diagonal(C, 0.0)
        n_items = C.shape[0]
        k = min(int(self.n_neighbors), n_items - 1)
        if k <= 0:
            return sp.csr_matrix((n_items, n_items), dtype=np.float32)
        top = np.argpartition(-C, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(C, top, axis=1)
        rows = np.repeat(np.arange(n_items), k)
        keep = values.ravel() > 0
        return sp.csr_matrix((values.ravel()[keep].astype(np.float32), (rows[keep], top.ravel()[keep])),
                             shape=(n_items, n_items))


finish_class(EASE)
finish_class(ItemKNN)

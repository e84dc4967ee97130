"""The baseline of docs/method.md section 4: a Random Forest on Zeo++ geometric descriptors.

scikit-learn's ``RandomForestRegressor`` with its defaults; rows with any non-finite
descriptor or label are dropped (and counted). Descriptors come from
:mod:`retvis.sim.descriptors` (Zeo++ in a subprocess), usually via the table that
``retvis descriptors`` writes. The RF is trained and tested on the same split as RetNet.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..core.descriptor_table import DESCRIPTORS
from ..errors import DataError


class RandomForestBaseline:
    """Random Forest on geometric descriptors, scikit-learn conventions.

    Parameters
    ----------
    features : sequence of str
        Descriptor names (columns of X), default all of :data:`DESCRIPTORS`.
    random_state : int
        Seed of the forest.
    **rf_params
        Passed to ``sklearn.ensemble.RandomForestRegressor`` (defaults otherwise).

    Attributes
    ----------
    model_ : RandomForestRegressor
        The fitted forest.
    n_dropped_ : int
        Training rows left out for non-finite values.
    """

    def __init__(self, features=DESCRIPTORS, random_state: int = 0, **rf_params) -> None:
        self.features = tuple(features)
        self.random_state = random_state
        self.rf_params = rf_params

    def fit(self, X: NDArray[np.float64], y: NDArray[np.float64]) -> RandomForestBaseline:
        """Fit on descriptors X (M, F) and labels y (M,); non-finite rows dropped."""
        from sklearn.ensemble import RandomForestRegressor

        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel()
        if X.ndim != 2 or X.shape[1] != len(self.features) or len(X) != len(y):
            raise DataError(
                f"expected X of shape (M, {len(self.features)}) and y (M,), got "
                f"{X.shape} and {y.shape}"
            )
        keep = np.isfinite(X).all(1) & np.isfinite(y)
        self.n_dropped_ = int((~keep).sum())
        if keep.sum() < 2:
            raise DataError(f"{int(keep.sum())} usable training rows; need >= 2")
        self.model_ = RandomForestRegressor(random_state=self.random_state, **self.rf_params)
        self.model_.fit(X[keep], y[keep])
        return self

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Predictions (M,); rows with non-finite descriptors give NaN."""
        X = np.asarray(X, dtype=np.float64)
        out = np.full(len(X), np.nan)
        keep = np.isfinite(X).all(1)
        if keep.any():
            out[keep] = self.model_.predict(X[keep])
        return out


def descriptor_matrix(
    table: dict[str, dict[str, float]], names: list[str], features=DESCRIPTORS
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Rows of descriptors for ``names`` (NaN for a name absent from the table).

    Returns
    -------
    X : NDArray[np.float64]
        Shape (M, F).
    present : NDArray[np.bool_]
        Shape (M,); the name had an ``ok`` row with finite values.
    """
    X = np.full((len(names), len(features)), np.nan)
    for i, n in enumerate(names):
        row = table.get(n)
        if row is not None:
            X[i] = [row.get(f, np.nan) for f in features]
    return X, np.isfinite(X).all(1)


def fit_rf_on_split(
    table: dict[str, dict[str, float]],
    names: list[str],
    y: NDArray,
    split: dict,
    train_size: int | None = None,
    seed: int = 0,
    features=DESCRIPTORS,
) -> dict:
    """Train the RF on a split's training names and predict its test names.

    Parameters
    ----------
    table : dict
        Name -> descriptors (:func:`retvis.core.descriptor_table.read_descriptor_csv`).
    names, y : list of str, NDArray
        Labelled materials and labels.
    split : dict
        With ``train`` and ``test`` name lists (as RetNet used).
    train_size : int, optional
        Use only this many training names (the same seeded subset RetNet uses).

    Returns
    -------
    dict
        ``test_names``, ``y_test``, ``pred_test`` (finite rows only), ``n_train``,
        ``n_dropped_train``, ``n_dropped_test``, ``model`` (the fitted baseline).
    """
    label = dict(zip(names, np.asarray(y, dtype=np.float64).tolist(), strict=True))
    train = [n for n in split["train"] if n in label]
    if train_size is not None:
        train = np.random.default_rng(seed).permutation(train)[:train_size].tolist()
    Xtr, _ = descriptor_matrix(table, train, features)
    ytr = np.array([label[n] for n in train])
    rf = RandomForestBaseline(features, random_state=seed).fit(Xtr, ytr)
    test = [n for n in split["test"] if n in label]
    Xte, ok = descriptor_matrix(table, test, features)
    yte = np.array([label[n] for n in test])
    pred = rf.predict(Xte)
    return {
        "test_names": [n for n, k in zip(test, ok, strict=True) if k],
        "y_test": yte[ok],
        "pred_test": pred[ok],
        "n_train": len(train) - rf.n_dropped_,
        "n_dropped_train": rf.n_dropped_,
        "n_dropped_test": int((~ok).sum()),
        "model": rf,
    }

"""A bootstrap committee of logistic-regression heads over embeddings (query by committee).

The heads are fitted in the trial on the labeled set's embeddings (small); their probabilities over
the pool are computed wherever the pool's embeddings are (:func:`raysweep.engine.inference.
score_block`), block by block, so the trial never needs the pool's P x D embeddings for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Committee:
    """``members[m]`` is a fitted head, or the one class a member votes for everywhere (its
    bootstrap resample drew a single class)."""

    members: tuple[LogisticRegression | int, ...]
    num_classes: int

    def probs(self, embeddings: np.ndarray) -> np.ndarray:
        """(M, B, C) float64 probabilities of every member (a class a head never saw gets 0)."""
        out = np.zeros((len(self.members), len(embeddings), self.num_classes), dtype=np.float64)
        for m, member in enumerate(self.members):
            if isinstance(member, LogisticRegression):
                out[m][:, member.classes_] = member.predict_proba(embeddings)
            else:
                out[m, :, member] = 1.0
        return out


def fit_committee(
    labeled_embeddings: np.ndarray,
    labeled_labels: np.ndarray,
    size: int,
    num_classes: int,
    rng: np.random.Generator,
) -> Committee:
    """``size`` heads, each trained on a bootstrap resample of the labeled embeddings (drawn in
    member order from ``rng``, so a resumed round fits the same committee)."""
    members: list[LogisticRegression | int] = []
    for _ in range(size):
        sample = rng.integers(0, len(labeled_labels), size=len(labeled_labels))
        classes = np.unique(labeled_labels[sample])
        if len(classes) == 1:
            members.append(int(classes[0]))
            continue
        head = LogisticRegression(max_iter=1000)
        head.fit(labeled_embeddings[sample], labeled_labels[sample])
        members.append(head)
    return Committee(tuple(members), num_classes)

"""k-means representatives: the pool point nearest each k-means centre.

Shared by BERT-KM, ALFA-Mix's diversity step and the cold-start seed set.

The centres are fitted by Lloyd's algorithm on a seeded subsample of ``POINTS_PER_CENTRE``
points per cluster (the idea of faiss's ``max_points_per_centroid``), from greedy k-means++
seeds drawn on a smaller subsample of it. Every pool point is then assigned to its nearest
centre, each centre moves to the exact mean of its cluster and the points are assigned once more:
one full Lloyd step on the whole pool, which cannot increase the pool's k-means objective. The
distance passes are blocked matrix products (||c||^2 - 2 x·c; ||x||^2 does not change the
argmin). Why: full Lloyd iterations over 100k x 768 points with 100 clusters take minutes on the
2-core benchmark machine and scikit-learn's mini-batch k-means took 30 s or more; this takes about
1 s there, with a full-pool objective 0.05% above Lloyd run to convergence on the whole pool (the
benchmark's arrays, 50 true clusters). On small clustered inputs the objective stays within 1%
(3% with 20 points per centre) of scikit-learn's ``KMeans(n_init=10)``:
tests/test_strategy_kmeans.py.

The representative of a cluster is its member nearest the cluster's centre (the centres the final
assignment used), so representatives are distinct by construction.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from raysweep.strategies.distances import squared_norms

BLOCK = 4_096  # points per block of a pool-to-centres distance computation
POINTS_PER_CENTRE = 128  # subsample size per cluster for Lloyd (see the module docstring)
MAX_ITER = 50  # Lloyd iterations on the subsample at most
SEEDING_POINTS_PER_CENTRE = 32  # subsample size per cluster for k-means++ seeding
TOL = 1e-4  # scikit-learn's default relative tolerance on the centres' shift


def seed_centres(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """(k, D) greedy k-means++ seeding (scikit-learn's: 2 + log k candidates per centre, the one
    that lowers the potential most is kept). Points all at distance 0 from the chosen centres
    (fewer distinct points than k) leave the rest uniformly drawn: duplicates, whose clusters the
    assignment leaves empty."""
    norms = squared_norms(points)
    trials = 2 + int(np.log(k))
    chosen = [int(rng.integers(len(points)))]
    closest = _squared_distances(points, norms, points[chosen])[0]
    for _ in range(1, k):
        total = closest.sum()
        if total <= 0:
            chosen.append(int(rng.integers(len(points))))
            continue
        draws = np.searchsorted(np.cumsum(closest), rng.random(trials) * total, side="right")
        draws = np.minimum(draws, len(points) - 1)
        candidates = np.minimum(closest[None, :], _squared_distances(points, norms, points[draws]))
        best = int(candidates.sum(axis=1).argmin())
        closest = candidates[best]
        chosen.append(int(draws[best]))
    return points[chosen].copy()


def _squared_distances(points: np.ndarray, norms: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(k, N) squared distances of each centre to every point, >= 0 (one matrix product)."""
    products = (centres @ points.T).astype(np.float64)
    squared = norms[None, :] - 2.0 * products + squared_norms(centres)[:, None]
    return np.maximum(squared, 0.0, out=squared)


def fit_centres(
    points: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    max_iter: int = MAX_ITER,
    points_per_centre: int = POINTS_PER_CENTRE,
) -> np.ndarray:
    """(k, D) Lloyd k-means centres fitted on a seeded subsample of ``points``.

    Stops after ``max_iter`` iterations or when the centres move less than scikit-learn's
    default tolerance (squared shift <= 1e-4 x the mean per-feature variance). A centre whose
    cluster empties stays where it is.
    """
    # a seeded subsample for Lloyd, and a smaller one inside it for the k-means++ seeding (whose
    # k sequential passes cost more than Lloyd's iterations; Lloyd then refines the seeds)
    order = rng.permutation(len(points))
    size = k * points_per_centre
    sample = points if size >= len(points) else points[np.sort(order[:size])]
    centres = seed_centres(points[np.sort(order[: k * SEEDING_POINTS_PER_CENTRE])], k, rng)
    tolerance = TOL * float(sample.var(axis=0, dtype=np.float64).mean())
    for _ in range(max_iter):
        means, counts = cluster_means(sample, assign(sample, centres), k)
        moved = np.where(counts[:, None] > 0, means, centres)
        shift = float(((moved - centres).astype(np.float64) ** 2).sum())
        centres = moved
        if shift <= tolerance:
            break
    return centres


def assign(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(N,) position of each point's nearest centre, a block of points at a time.

    ||x||^2 is the same for every centre of a point, so the argmin needs only ||c||^2 - 2 x·c.
    """
    centres = centres.astype(points.dtype, copy=False)
    centre_norms = squared_norms(centres)
    labels = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), BLOCK):
        products = points[start : start + BLOCK] @ centres.T
        labels[start : start + BLOCK] = (centre_norms[None, :] - 2.0 * products).argmin(axis=1)
    return labels


def cluster_means(points: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, D) exact mean of each cluster (zeros for an empty one) and (k,) the cluster sizes."""
    counts = np.bincount(labels, minlength=k)
    membership = sparse.csr_matrix(
        (np.ones(len(labels), dtype=points.dtype), (labels, np.arange(len(labels)))),
        shape=(k, len(labels)),
    )
    means = np.asarray(membership @ points) / np.maximum(counts, 1)[:, None]
    return means.astype(points.dtype), counts


def kmeans(
    points: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    max_iter: int = MAX_ITER,
    points_per_centre: int = POINTS_PER_CENTRE,
) -> tuple[np.ndarray, np.ndarray]:
    """(k, D) centres and (N,) labels: fitted on a subsample, then one Lloyd step on all points.

    The labels are each point's nearest centre among the returned centres. A centre whose
    cluster emptied keeps its subsample position and has no members.
    """
    centres = fit_centres(points, k, rng, max_iter=max_iter, points_per_centre=points_per_centre)
    means, counts = cluster_means(points, assign(points, centres), k)
    centres = np.where(counts[:, None] > 0, means, centres)
    return centres, assign(points, centres)


def kmeans_representatives(
    points: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    max_iter: int = MAX_ITER,
    points_per_centre: int = POINTS_PER_CENTRE,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of up to ``k`` representatives, largest cluster first, and their cluster sizes.

    Fewer than ``k`` come back when the points have fewer than ``k`` distinct values or a
    cluster ends up empty; callers fill the rest.
    """
    centres, labels = kmeans(points, k, rng, max_iter=max_iter, points_per_centre=points_per_centre)
    counts = np.bincount(labels, minlength=k)
    to_centre = np.empty(len(points))
    for start in range(0, len(points), BLOCK):  # exact offsets, a block at a time
        offsets = points[start : start + BLOCK] - centres[labels[start : start + BLOCK]]
        to_centre[start : start + BLOCK] = np.einsum("ij,ij->i", offsets, offsets, dtype=np.float64)
    by_cluster = np.lexsort((to_centre, labels))  # each cluster's members, nearest first
    starts = np.flatnonzero(np.r_[True, np.diff(labels[by_cluster]) != 0])
    representatives = by_cluster[starts]
    sizes = counts[labels[representatives]]
    # largest cluster first; equal sizes by position, so the order is deterministic
    order = np.lexsort((representatives, -sizes))
    return representatives[order], sizes[order]


def fill_at_random(
    chosen: np.ndarray, population: int, size: int, rng: np.random.Generator
) -> np.ndarray:
    """``size - len(chosen)`` further positions in [0, population), uniformly, none in ``chosen``."""
    rest = np.setdiff1d(np.arange(population), chosen)
    return rng.choice(rest, size=size - len(chosen), replace=False)


def l2_normalise(points: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(points, axis=1, keepdims=True)
    return points / np.where(norms == 0, 1.0, norms)

"""The subsampled k-means behind BERT-KM, ALFA-Mix and the seed set, against scikit-learn's full
KMeans and brute-force distances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

from raysweep.strategies import PoolView, create_strategy
from raysweep.strategies.clustering import kmeans, l2_normalise


def _clustered(seed: int, blobs: int = 12, size: int = 4_800, dims: int = 16) -> np.ndarray:
    """Gaussian blobs that overlap a little (spread 0.6 around centres of scale 3)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(blobs, dims))
    return centres[rng.integers(0, blobs, size)] + rng.normal(scale=0.6, size=(size, dims))


def _inertia(points: np.ndarray, centres: np.ndarray) -> float:
    """The k-means objective of ``centres`` on ``points``, by brute force."""
    return float((cdist(points, centres, "sqeuclidean").min(axis=1)).sum())


@pytest.mark.parametrize(
    ("points_per_centre", "bound"),
    [(128, 1.01), (20, 1.03)],  # the default, and a sample of 600 of the 4,800 points
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_subsampled_kmeans_objective_is_within_a_bound_of_full_sklearn(
    seed, points_per_centre, bound
):
    points = _clustered(seed)
    k = 30  # more clusters than blobs, as BERT-KM's k = batch size usually is
    assert k * points_per_centre < len(points)  # the subsample path, not all points
    theirs = KMeans(n_clusters=k, n_init=10, random_state=0).fit(points).inertia_
    centres, labels = kmeans(
        points, k, np.random.default_rng(seed), points_per_centre=points_per_centre
    )
    assert _inertia(points, centres) <= bound * theirs
    # the labels are each point's nearest returned centre
    distances = cdist(points, centres, "sqeuclidean")
    np.testing.assert_allclose(distances[np.arange(len(points)), labels], distances.min(axis=1))


def test_kmeans_finds_the_true_clusters_when_k_equals_their_number():
    points = _clustered(3)
    theirs = KMeans(n_clusters=12, n_init=10, random_state=0).fit(points)
    centres, labels = kmeans(points, 12, np.random.default_rng(0), points_per_centre=50)
    assert _inertia(points, centres) <= 1.001 * theirs.inertia_
    # the same partition up to renaming
    pairs = set(zip(labels.tolist(), theirs.labels_.tolist(), strict=True))
    assert len(pairs) == 12


def test_kmeans_is_deterministic_under_a_seed():
    points = _clustered(4).astype(np.float32)
    first = kmeans(points, 20, np.random.default_rng(7), points_per_centre=30)
    again = kmeans(points, 20, np.random.default_rng(7), points_per_centre=30)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


@pytest.mark.parametrize("normalize", [True, False])
def test_bert_km_returns_the_pool_point_nearest_each_centre(normalize):
    embeddings = (
        _clustered(5, blobs=6, size=3_000, dims=12) + 10.0
    )  # off-origin: normalising moves them
    view = PoolView(
        pool_indices=np.arange(len(embeddings)) + 100,
        labeled_indices=np.array([], dtype=np.int64),
        rng=np.random.default_rng(11),
        embeddings=embeddings,
    )
    batch = 8  # 8 x 128 < 3,000: the centres come from a subsample
    selection = create_strategy("bert_km", {"normalize": normalize}).select(view, batch)
    points = l2_normalise(embeddings) if normalize else embeddings
    # the same seeded draws give the centres BERT-KM used; the picks are checked by brute force
    centres, _ = kmeans(points, batch, np.random.default_rng(11))
    distances = cdist(centres, points)
    nearest_of_each_centre = distances.argmin(axis=1)
    assert sorted(selection.indices - 100) == sorted(nearest_of_each_centre.tolist())
    # largest cluster first, score = its share of the pool
    sizes = np.bincount(cdist(points, centres).argmin(axis=1), minlength=batch)
    by_pick = dict(zip(nearest_of_each_centre.tolist(), sizes.tolist(), strict=True))
    np.testing.assert_allclose(
        selection.scores, [by_pick[i - 100] / len(points) for i in selection.indices]
    )
    assert list(selection.scores) == sorted(selection.scores, reverse=True)

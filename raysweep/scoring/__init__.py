"""Scoring backends beyond the engine's in-process scorer: Ray Data actor pools."""

from __future__ import annotations

from raysweep.scoring.choice import AutoScorer, build_scorer, close_scorer
from raysweep.scoring.placement import trial_bundles
from raysweep.scoring.ray_data import RayDataScorer

__all__ = ["AutoScorer", "RayDataScorer", "build_scorer", "close_scorer", "trial_bundles"]

"""Trains the default router that ships in sample_data/router (the dashboard loads it at start)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from router_core.config import RouterConfig
from router_core.data.catalog import load_catalog
from router_core.data.labelled import load_labelled
from router_core.model.fitting import labelled_digest
from router_core.router import Router

SPLIT_SEED = 0  # the same split `python -m router_core evaluate` makes by default, so its test part stays unseen
TEST_FRACTION = 0.2


def train_default_router(sample_dir: Path, seed: int = 0, config: RouterConfig | None = None, encoder=None) -> Router:
    """Fit on 80% of sample_dir/labelled.csv (priced by its catalog.csv) and save to sample_dir/router."""
    sample_dir = Path(sample_dir)
    catalog = load_catalog(sample_dir / "catalog.csv")
    data = load_labelled(sample_dir / "labelled.csv", catalog)
    train, _ = data.split(TEST_FRACTION, SPLIT_SEED)
    router = Router(config or RouterConfig.of(seed=seed)).fit(train, catalog, encoder=encoder)
    held_out = {"test_fraction": TEST_FRACTION, "split_seed": SPLIT_SEED, "full_data_digest": labelled_digest(data)}
    router = router.with_parts(record=dataclasses.replace(router.training, held_out=held_out))
    router.save(sample_dir / "router")
    return router

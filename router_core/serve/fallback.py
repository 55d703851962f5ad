"""The default fallback order: the model with the best mean quality the router learned, then the rest by quality."""
from __future__ import annotations


def default_fallback_order(router) -> list[str]:
    quality = router.parts.pipeline.quality
    if quality is not None:
        prior = list(quality.prior)
        return [name for _, name in sorted(zip(prior, router.candidates), key=lambda pair: -pair[0])]
    catalog = router.catalog  # no quality stage: the dearest model is taken as the strongest
    if catalog is not None:
        return [c.name for c in sorted(catalog.candidates, key=lambda c: -(c.output_usd_per_1m + c.input_usd_per_1m))]
    return list(router.candidates)


def checked_order(order: list[str], candidates: list[str]) -> list[str]:
    """A user's --fallback order: known names, each once; models it leaves out follow in the default order."""
    from router_core.errors import RouterInputError

    unknown = [m for m in order if m not in candidates]
    if unknown:
        raise RouterInputError(f"--fallback: {', '.join(unknown)} not among the router's models ({', '.join(candidates)})")
    if len(set(order)) != len(order):
        raise RouterInputError("--fallback: a model is named twice")
    return order

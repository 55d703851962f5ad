"""Measuring routers on labelled data: the router's curves, every baseline, and where the router stands."""

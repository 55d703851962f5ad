"""Deciding: the Policy that turns predicted quality and cost into choices at λ, the curves' metrics, and plain-language explanations of a decision."""

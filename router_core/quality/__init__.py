"""The quality-evidence stage: what a router finally predicts for each model's quality on a query.

Sources, one module each: the cross-attention network (its quality head, computed by the scorer), neighbours
(nearest labelled training queries), linear (ridge on the sentence embedding), task type (per-type means, the type
predicted from text), each model's prior, and peer evidence for a model added later. `stage.QualityStage` mixes them;
`fit.fit_quality_stage` chooses the mix on cross-fitted, out-of-fold predictions.
"""
from router_core.quality.fit import fit_quality_stage
from router_core.quality.neighbours import as_memory, unit_rows
from router_core.quality.stage import QualityStage
from router_core.quality.task_type import TaskTypeEvidence, task_type_probabilities

__all__ = ["QualityStage", "TaskTypeEvidence", "as_memory", "fit_quality_stage", "task_type_probabilities", "unit_rows"]

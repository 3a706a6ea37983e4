"""Contrastive few-shot classification (SetFit-style) on the shared training stage.

- ``args``: ``ContrastiveArgs`` (pairs, pooling, head) and ``ContrastiveTrainArgs``.
- ``templates``: templated examples from the label names ("This sentence is positive").
- ``pairs``: seeded sentence pairs, their batches and the cosine-similarity objective.
- ``head``: the logistic-regression head as plain numbers (``LinearHead``).
- ``run``: ``fit_contrastive(...) -> Result``.
- ``io``: the saved folder (encoder + ``head.json``) and its predictor.
- ``methods``: ``contrastive-lr`` in the method registry.
"""

from .args import ContrastiveArgs, ContrastiveTrainArgs
from .run import fit_contrastive

__all__ = ["ContrastiveArgs", "ContrastiveTrainArgs", "fit_contrastive"]

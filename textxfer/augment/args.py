"""``AugmentArgs``: how to augment a training split; ``AugmentInfo``: what one call did.

>>> AugmentArgs(recipe="eda", n_aug=4, alpha=0.1).load_recipe().name
'eda'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Args, field
from ..errors import ConfigError
from .cache import CACHE_ENV, default_cache_dir
from .recipes import Recipe, load_recipe

__all__ = ["AugmentArgs", "AugmentInfo"]


@dataclass
class AugmentArgs(Args):
    """How to augment the training split (recipe, copies, seed, processes, cache, models)."""

    recipe: str | list | dict = field(
        "eda", help="built-in recipe (eda, eda_w2v, mlm, char, ...), a YAML file, or a list of ops"
    )
    n_aug: int | None = field(
        None, help="augmented copies per row (default: EDA's table by training size: 16/8/4)"
    )
    alpha: float | None = field(
        None, help="fraction of words changed per op (default: EDA's table: 0.05/0.05/0.1)"
    )
    seed: int = field(42, help="seed: each copy's randomness comes from (seed, row id, copy)")
    num_proc: int | None = field(
        None,
        help="worker processes for the cheap ops (default: from the measured cost; 1 on small data)",
    )
    keep_original: bool = field(True, help="keep each original row before its augmented copies")
    aug_cache_dir: str | None = field(
        None,
        help=f"augmentation cache folder (default: ${CACHE_ENV}/augment or ~/.cache/textxfer/augment)",
    )
    use_cache: bool = field(True, help="read and write the augmentation cache")
    w2v_model: str | None = field(
        None, help="word2vec vectors file (.bin or .txt); default: train on the texts"
    )
    mlm_model: str | None = field(None, help="local masked-LM model folder for contextual ops")
    wordnet_dir: str | None = field(
        None, help="NLTK WordNet corpus folder (default: found on NLTK's data path)"
    )
    mlm_batch_size: int = field(32, help="masked-LM augmentation: texts per forward pass")
    mlm_device: str | None = field(
        None, help="masked-LM augmentation device (default: cuda if available, else cpu)"
    )

    def validate(self) -> None:
        self.load_recipe()  # fails early on an unknown recipe or a bad op
        for name, low, optional in (
            ("n_aug", 0, True),
            ("num_proc", 1, True),
            ("mlm_batch_size", 1, False),
        ):
            value = getattr(self, name)
            if not (value is None and optional) and value < low:
                raise ConfigError(
                    f"{name} must be an integer >= {low}{' or null' if optional else ''}, found "
                    f"{value!r}; e.g. --{name.replace('_', '-')} {max(low, 1)}"
                )
        if self.alpha is not None and not 0 < self.alpha <= 1:
            raise ConfigError(
                f"alpha must be in (0, 1] or null, found {self.alpha!r}; e.g. --alpha 0.1"
            )

    def load_recipe(self) -> Recipe:
        """The parsed ``Recipe``."""
        return load_recipe(self.recipe)

    @property
    def cache_path(self) -> Path:
        """The cache folder in use."""
        return Path(self.aug_cache_dir).expanduser() if self.aug_cache_dir else default_cache_dir()


@dataclass
class AugmentInfo:
    """What an ``augment`` call did: sizes, settings, timing and whether it came from the cache."""

    recipe: str
    n_source: int
    n_aug: int
    alpha: float
    rows: int
    num_proc: int  # processes used (chosen when num_proc was None); 0 on a cache hit
    seconds: float
    cache_hit: bool
    cache_path: str | None
    key: str

"""Domain adaptation: continued pretraining (masked-LM or denoising) of an encoder on unlabelled text.

- ``args``: ``AdaptArgs`` (masking, held-out perplexity, texts) and ``MLMTrainArgs``.
- ``mlm``: tokenization, masking, the masked-LM loss and held-out perplexity.
- ``denoise``: the denoising objective (TSDAE) for sentence encoders without a masked-LM head.
- ``head``, ``anchor``: a fresh masked-LM head's warm-up; keeping a share of the adaptation.
- ``run``: ``adapt(...) -> Result`` on the shared training stage.
- ``io``: the adapted model folder.
- ``methods``: ``adapt-finetune`` and ``adapt-finetune-lora`` in the method registry.
"""

from .args import AdaptArgs, MLMTrainArgs
from .run import adapt, load_mlm_model, resolve_texts, split_heldout

__all__ = ["AdaptArgs", "MLMTrainArgs", "adapt", "load_mlm_model", "resolve_texts", "split_heldout"]

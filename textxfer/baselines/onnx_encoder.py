"""Frozen encoders run by ONNX Runtime on CPU: fp32, or int8 by dynamic quantisation.

``load_onnx_encoder(model_path, quantize)`` exports the transformers encoder once (torch's
dynamo exporter, which follows transformers 5's attention masks; the TorchScript exporter gets
padded batches wrong), checks the export against torch on a sample batch, quantises its weight
matrices to int8 when asked (``onnxruntime.quantization.quantize_dynamic``: per-channel weights,
activations quantised on the fly, only matrix products with a constant weight), and keeps the
files in ``$TEXTXFER_CACHE/onnx/<key>/``, keyed by the model's fingerprint (path, file sizes and
mtimes), the export version and the torch and onnxruntime versions. Only ONNX graphs that
textxfer wrote itself are loaded (protobuf data, never a pickle), and never from the user's
model folder.

The returned ``OnnxEncoder`` is called like a transformers model (``encoder(**batch)`` with
torch tensors, ``.last_hidden_state``, ``.config``, ``.device``), so ``TransformerFeaturizer``
runs the same batching and pooling code for every backend.

>>> from textxfer.baselines.onnx_encoder import load_onnx_encoder
>>> encoder = load_onnx_encoder("path/to/model", quantize=True)        # doctest: +SKIP
>>> encoder(**tokenizer(["a film"], return_tensors="pt")).last_hidden_state.shape  # doctest: +SKIP
torch.Size([1, 4, 384])
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

from ..errors import require
from ..io import atomic_file, cache_root, file_fingerprint

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1
EXPORT_TOLERANCE = 1e-3  # max |hidden state| difference to torch accepted for the fp32 export
SAMPLE_TEXTS = ["a short text", "a somewhat longer text, so that the batch needs padding"]


def _require_runtime():
    return require("onnxruntime", extra="onnx", purpose="feature_backend onnx / onnx-int8")


def onnx_dir(model_path: str) -> Path:
    """The cache folder of one model's ONNX files."""
    import onnxruntime
    import torch

    key = f"{EXPORT_VERSION}|{file_fingerprint(model_path)}|{torch.__version__}|{onnxruntime.__version__}"
    return cache_root() / "onnx" / hashlib.sha256(key.encode()).hexdigest()[:16]


def _hidden_states(model, names: list[str]):
    """A module whose ``forward(*inputs)`` is ``model(**inputs).last_hidden_state`` (traced)."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(names, inputs))).last_hidden_state

    return HiddenStates()


def export_onnx(model_path: str, path: Path) -> Path:
    """Export the encoder at ``model_path`` to ``path`` (dynamic batch and sequence length).

    Raises:
        MissingExtraError: onnx / onnxscript (the exporter's dependencies) missing.
        RuntimeError: the exported graph disagrees with torch on a sample batch.
    """
    for module in ("onnx", "onnxscript"):
        require(module, extra="onnx", purpose="exporting an encoder to ONNX")
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).eval()
    sample = tokenizer(SAMPLE_TEXTS, padding=True, return_tensors="pt")
    names = list(sample.keys())
    longest = getattr(model.config, "max_position_embeddings", None)  # export checks the range
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=longest)
    with atomic_file(path, suffix=".onnx") as tmp, _quiet():
        torch.onnx.export(
            _hidden_states(model, names),
            tuple(sample[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_shapes=(tuple({0: batch, 1: seq} for _ in names),),  # forward(*inputs)
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        with torch.inference_mode():
            expected = model(**sample).last_hidden_state.numpy()
        got = _session(tmp).run(None, {n: sample[n].numpy() for n in names})[0]
        error = float(abs(got - expected).max())
        if error > EXPORT_TOLERANCE:
            raise RuntimeError(
                f"the ONNX export of {model_path} differs from torch by {error:.2g} (> "
                f"{EXPORT_TOLERANCE}); use feature_backend torch for this model"
            )
    logger.info("features: exported %s to ONNX at %s (max diff %.1g)", model_path, path, error)
    return path


def quantize_onnx(source: Path, path: Path) -> Path:
    """Dynamic int8 quantisation of ``source``'s weight matrices into ``path``."""
    _require_runtime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with atomic_file(path, suffix=".onnx") as tmp, _quiet():
        quantize_dynamic(
            str(source),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # activation x activation products (attention scores) stay fp32: they lose the most
            extra_options={"MatMulConstBOnly": True},
        )
    logger.info("features: quantised %s to int8 at %s", source, path)
    return path


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's and quantiser's chatter (skipped torchvision ops, pre-processing
    advice on the root logger, deprecation warnings): a one-off export is not the user's concern."""
    exporter, root = logging.getLogger("torch.onnx"), logging.getLogger()
    level, drop = exporter.level, logging.Filter("textxfer")  # root: only textxfer's records
    exporter.setLevel(logging.ERROR)
    root.addFilter(drop)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        exporter.setLevel(level)
        root.removeFilter(drop)


def _session(path: Path):
    ort = _require_runtime()
    import torch

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # as many threads as torch would use
    options.log_severity_level = 3  # no warnings about initialisers and unused nodes
    # idle worker threads sleep instead of spinning: on shared cores spinning steals the CPU that
    # other threads (and processes) need; measured 1.3x faster on a loaded 2-core machine
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """An ONNX Runtime session called like a transformers encoder (CPU only).

    Attributes:
        config: the model's transformers config.
        device: ``torch.device("cpu")``; inputs are torch tensors, outputs too.
        path: the ONNX file.
        model_path: the transformers model it was exported from.
    """

    def __init__(self, path: Path, config, model_path: str) -> None:
        import torch

        self.path, self.config, self.device = Path(path), config, torch.device("cpu")
        self.model_path = model_path
        self.session = _session(self.path)
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, **batch) -> SimpleNamespace:
        import torch

        feeds = {name: batch[name].cpu().numpy() for name in self.inputs}
        hidden = self.session.run(None, feeds)[0]
        return SimpleNamespace(last_hidden_state=torch.from_numpy(hidden))

    def save_pretrained(self, folder: str) -> None:
        """Save the source transformers model: a saved baseline carries the weights, and the
        ONNX files are rebuilt from them into the cache where it is loaded."""
        from transformers import AutoModel

        AutoModel.from_pretrained(self.model_path).save_pretrained(folder)


def load_onnx_encoder(model_path: str, quantize: bool = False) -> OnnxEncoder:
    """The encoder at ``model_path`` as an ``OnnxEncoder``: exported (and quantised) once, cached.

    Args:
        model_path: a resolved model folder or Hub id (``textxfer.models.resolve_model``).
        quantize: int8 weights (dynamic quantisation) instead of fp32.

    Raises:
        MissingExtraError: onnxruntime (or, for a first export, onnx / onnxscript) missing.
    """
    _require_runtime()
    from transformers import AutoConfig

    folder = onnx_dir(model_path)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        export_onnx(model_path, fp32)
    path = fp32
    if quantize:
        path = folder / "model-int8.onnx"
        if not path.is_file():
            quantize_onnx(fp32, path)
    return OnnxEncoder(path, AutoConfig.from_pretrained(model_path), model_path)

"""The ONNX Runtime feature backends: close to torch, cached once per model, keyed apart, guarded."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from ftutil import rows as tiny_rows

from textxfer.baselines import BaselineArgs, TransformerFeaturizer, make_baseline
from textxfer.baselines.features import BACKENDS
from textxfer.errors import ConfigError, MissingExtraError

TEXTS = [t for t, _ in tiny_rows()]
NEEDS_ORT = "onnxruntime is not installed (pip install 'textxfer[onnx]'): ONNX backend not tested"


def _importable(*names: str) -> bool:
    """Whether every module imports (``find_spec`` alone misses a package that fails to import)."""
    try:
        for name in names:
            importlib.import_module(name)
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def bert(_tiny_bert_master) -> str:
    return str(_tiny_bert_master)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_onnx_backends_give_torch_features_and_export_once(bert, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime", reason=NEEDS_ORT)
    pytest.importorskip("onnxscript", reason=NEEDS_ORT.replace("onnxruntime", "onnxscript"))
    from textxfer.baselines import onnx_encoder

    torch_feats = TransformerFeaturizer(bert, progress=False).fit_transform(TEXTS)
    onnx_feats = {}
    for backend in ("onnx", "onnx-int8"):
        featurizer = TransformerFeaturizer(bert, backend=backend, progress=False).fit(TEXTS[:1])
        assert featurizer.n_features_out_ == torch_feats.shape[1]
        onnx_feats[backend] = featurizer.transform(TEXTS)
        single = featurizer.transform(TEXTS[:1])  # a batch of one text, shorter than the export's
        # int8: activations are quantised with per-batch scales, so batch-mates matter a little
        assert _cosines(single, onnx_feats[backend][:1]).min() > (
            0.9999 if backend == "onnx-int8" else 0.999999
        )
    np.testing.assert_allclose(onnx_feats["onnx"], torch_feats, rtol=1e-4, atol=1e-4)
    assert _cosines(onnx_feats["onnx-int8"], torch_feats).min() > 0.99
    assert not np.array_equal(onnx_feats["onnx-int8"], onnx_feats["onnx"])  # int8 weights in use
    folder = onnx_encoder.onnx_dir(bert)
    assert sorted(p.name for p in folder.iterdir()) == ["model-int8.onnx", "model.onnx"]

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_encoder, "export_onnx", no_export)
    monkeypatch.setattr(onnx_encoder, "quantize_onnx", no_export)
    again = TransformerFeaturizer(bert, backend="onnx-int8", progress=False).fit_transform(TEXTS)
    np.testing.assert_array_equal(again, onnx_feats["onnx-int8"])
    # a saved baseline carries the source weights (persist calls save_pretrained on the encoder)
    import torch
    from transformers import AutoModel

    encoder = TransformerFeaturizer(bert, backend="onnx").fit(TEXTS[:1])._encoder()[1]
    encoder.save_pretrained(str(tmp_path / "encoder"))
    saved, source = (
        AutoModel.from_pretrained(p).state_dict() for p in (tmp_path / "encoder", bert)
    )
    kept = [k for k in source if not k.startswith("pooler.")]  # the tiny BERT has no pooler
    assert saved.keys() == source.keys() and all(torch.equal(saved[k], source[k]) for k in kept)
    pipe = make_baseline("features-lr", model=bert, feature_backend="onnx-int8", seed=0)
    assert pipe.named_steps["features"].backend == "onnx-int8"
    labels = [lab for _, lab in tiny_rows()]
    assert pipe.fit(TEXTS, labels).score(TEXTS, labels) > 0.5


def test_cache_key_and_file_differ_per_backend(bert, tmp_path):
    featurizer = TransformerFeaturizer(bert, cache_dir=str(tmp_path), progress=False).fit(TEXTS)
    keys = {b: featurizer.set_params(backend=b).cache_key(TEXTS) for b in BACKENDS}
    assert len(set(keys.values())) == len(BACKENDS)
    featurizer.set_params(backend="torch").transform(TEXTS)
    assert featurizer.last_cache_path_.name == f"features-{keys['torch']}.npy"


def test_onnx_backend_without_onnxruntime_names_the_extra(bert, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(
        MissingExtraError,
        match=r"feature_backend onnx / onnx-int8 needs the package 'onnxruntime'.*"
        r"pip install 'textxfer\[onnx\]'",
    ):
        TransformerFeaturizer(bert, backend="onnx-int8").fit(TEXTS[:1])


def test_backend_options_are_checked(bert):
    with pytest.raises(
        ValueError, match=r"backend must be one of \['torch', 'onnx', 'onnx-int8'\]"
    ):
        TransformerFeaturizer(bert, backend="tensorrt").fit(TEXTS[:1])
    with pytest.raises(ValueError, match="runs on CPU .*pass device cpu, or backend torch"):
        TransformerFeaturizer(bert, backend="onnx", device="cuda").fit(TEXTS[:1])
    with pytest.raises(ConfigError, match="feature_backend must be one of"):
        BaselineArgs(method="features-lr", feature_backend="int4")


def test_bench_features_prints_the_side_by_side_table(bert, tiny_dataset_dir, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "recipes" / "bench_features.py"
    spec = importlib.util.spec_from_file_location("bench_features", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    backends = ["torch"]
    if _importable("onnxruntime", "onnxscript"):
        backends.append("onnx-int8")
    argv = [str(tiny_dataset_dir), "--model", bert, "--batch-size", "4", "--max-length", "16"]
    assert bench.main([*argv, "--repeat", "1", "--backends", *backends]) == 0
    printed = capsys.readouterr().out
    assert "bench_features: " in printed and " test (8 texts), model " in printed
    lines = [line for line in printed.splitlines() if line.startswith("textxfer ")]
    assert [line.split()[1] for line in lines[: len(backends)]] == backends
    if _importable("sentence_transformers"):
        row = next(
            line for line in printed.splitlines() if line.startswith("sentence-transformers")
        )
        assert row.split()[-4] == "1.00x" and "textxfer torch vs sentence-transformers: " in printed
        torch_row = lines[0].split()
        assert torch_row[-2].startswith("1.0000/1.0000")  # the same embeddings as the peer

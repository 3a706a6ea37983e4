"""Baseline estimators: the scikit-learn contract, determinism, word2vec OOV, feature cache, factory."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from ftutil import rows as tiny_rows
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from textxfer.baselines import (
    BaselineArgs,
    TransformerFeaturizer,
    Word2VecVectorizer,
    make_baseline,
)
from textxfer.baselines.methods import BUILTIN_BASELINES
from textxfer.errors import ConfigError, MissingExtraError, MissingSourceError, ModelNotFoundError

TEXTS = [t for t, _ in tiny_rows()]
Y = np.array([1 if lab == "positive" else 0 for _, lab in tiny_rows()])


@pytest.fixture(scope="module")
def bert(_tiny_bert_master) -> str:
    """The session's tiny BERT folder, read-only here (features tests never write into it)."""
    return str(_tiny_bert_master)


def _params(method: str, bert: str) -> dict:
    """Small settings every method accepts (unused ones are ignored by the factory)."""
    return {"model": bert, "w2v_size": 16, "w2v_epochs": 5, "seed": 0}


@pytest.mark.parametrize("method", list(BUILTIN_BASELINES))
def test_every_method_fits_predicts_and_separates_train(method, bert):
    pipe = make_baseline(method, **_params(method, bert))
    assert pipe.fit(TEXTS, Y) is pipe
    pred = pipe.predict(TEXTS)
    assert pred.shape == (20,) and set(pred) <= {0, 1}
    if method.startswith(("tfidf", "bow")):
        assert (pred == Y).mean() == 1.0  # sparse n-grams separate 20 distinct sentences
    assert pipe.steps[-1][0] == "clf"


@pytest.mark.parametrize("method", ["tfidf-sgd", "w2v-lr", "features-lr"])
def test_same_seed_same_model_and_different_seed_differs_for_w2v(method, bert):
    def scores(seed):
        pipe = make_baseline(method, **{**_params(method, bert), "seed": seed}).fit(TEXTS, Y)
        return pipe.predict_proba(TEXTS), pipe

    a, pipe_a = scores(3)
    b, pipe_b = scores(3)
    np.testing.assert_array_equal(a, b)
    if method == "w2v-lr":
        np.testing.assert_array_equal(pipe_a[0].vectors_, pipe_b[0].vectors_)
        assert not np.allclose(pipe_a[0].vectors_, scores(4)[1][0].vectors_)


@pytest.mark.parametrize("estimator", [Word2VecVectorizer, TransformerFeaturizer])
def test_estimator_contract_checks(estimator):
    name = estimator.__name__
    for check in (
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_get_params_invariance,
        check_set_params,
    ):
        check(name, estimator())


@pytest.mark.parametrize(
    "method, grid",
    [
        ("tfidf-lr", {"clf__C": [0.1, 10.0], "vectorizer__ngram_range": [(1, 1), (1, 2)]}),
        ("tfidf-nb", {"clf__alpha": [0.5, 1.0]}),
        ("w2v-lr", {"vectorizer__pooling": ["mean", "tfidf"]}),
        ("features-svm", {"features__pooling": ["mean", "cls"]}),
    ],
)
def test_clone_and_grid_search(method, grid, bert):
    pipe = make_baseline(method, **_params(method, bert))
    twin = clone(pipe)
    assert twin.get_params(deep=False).keys() == pipe.get_params(deep=False).keys()
    assert repr(twin) == repr(pipe)
    search = GridSearchCV(pipe, grid, cv=2, scoring="accuracy").fit(TEXTS, Y)
    assert set(search.best_params_) == set(grid)
    assert all(search.best_params_[k] in v for k, v in grid.items())
    assert not hasattr(pipe[0], "n_features_out_")  # the template is never fitted
    assert search.predict(TEXTS).shape == (20,)


# -- word2vec --------------------------------------------------------------------------------


def test_w2v_pooling_and_oov_texts_map_to_zero():
    vec = Word2VecVectorizer(vector_size=8, epochs=3, random_state=0).fit(TEXTS)
    out = vec.transform(["zzz qqq", "great film zzz", ""])
    assert out.shape == (3, 8) and vec.n_features_out_ == 8
    assert not out[0].any() and not out[2].any()
    expected = (vec.vectors_[vec.vocabulary_["great"]] + vec.vectors_[vec.vocabulary_["film"]]) / 2
    np.testing.assert_allclose(out[1], expected, rtol=1e-6)
    tfidf = Word2VecVectorizer(vector_size=8, epochs=3, random_state=0, pooling="tfidf").fit(TEXTS)
    assert not np.allclose(
        tfidf.transform(["great film and a story"]), vec.transform(["great film and a story"])
    )


@pytest.fixture(scope="module")
def keyed_vectors(tmp_path_factory):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(vector_size=4)
    kv.add_vectors(["great", "film", "bad"], np.arange(12, dtype=np.float32).reshape(3, 4))
    folder = tmp_path_factory.mktemp("kv")
    kv.save(str(folder / "v.kv"))
    kv.save_word2vec_format(str(folder / "v.bin"), binary=True)
    kv.save_word2vec_format(str(folder / "v.txt"), binary=False)
    return folder


def test_w2v_refuses_gensim_pickles(keyed_vectors):
    with pytest.raises(
        MissingSourceError, match=r"\.kv/\.model files are pickles.*save_word2vec_format"
    ):
        Word2VecVectorizer(keyed_vectors=str(keyed_vectors / "v.kv")).fit(TEXTS)


@pytest.mark.parametrize("name", ["v.txt", "v.bin"])
def test_w2v_loads_keyed_vectors(keyed_vectors, name):
    vec = Word2VecVectorizer(keyed_vectors=str(keyed_vectors / name)).fit(TEXTS)
    assert vec.n_features_out_ == 4
    np.testing.assert_allclose(vec.transform(["great bad"])[0], [4, 5, 6, 7])
    assert 0 < vec.oov_rate_ < 1


def test_w2v_errors(keyed_vectors, monkeypatch):
    vec = Word2VecVectorizer(keyed_vectors=str(keyed_vectors / "v.bin"))
    with pytest.raises(ValueError, match="all 2 training texts are out of vocabulary"):
        vec.fit(["zzz", "qqq www"])
    assert not hasattr(vec, "vectors_")  # a failed fit leaves no fitted state behind
    with pytest.raises(ValueError, match="empty training set"):
        Word2VecVectorizer().fit([])
    with pytest.raises(ValueError, match="single string"):
        Word2VecVectorizer().fit("a text")
    with pytest.raises(ValueError, match="pooling must be one of"):
        Word2VecVectorizer(pooling="max").fit(TEXTS)
    with pytest.raises(ValueError, match="lower min_count"):
        Word2VecVectorizer(min_count=100).fit(TEXTS)
    with pytest.raises(MissingSourceError, match="word vectors file 'nope.bin' not found"):
        Word2VecVectorizer(keyed_vectors="nope.bin").fit(TEXTS)
    monkeypatch.setitem(sys.modules, "gensim", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'textxfer\[w2v\]'"):
        Word2VecVectorizer().fit(TEXTS)


# -- frozen transformer features -------------------------------------------------------------


def test_featurizer_is_lazy_and_pools(bert):
    lazy = TransformerFeaturizer(model="no/such/model/folder")  # nothing is loaded in __init__
    with pytest.raises(ModelNotFoundError, match="not found"):
        lazy.fit(TEXTS)
    feats = TransformerFeaturizer(model=bert, progress=False).fit(TEXTS[:1])
    mean = feats.transform(TEXTS)
    assert mean.shape == (20, 32) and mean.dtype == np.float32
    small_batches = clone(feats).set_params(batch_size=3).fit(TEXTS[:1]).transform(TEXTS)
    np.testing.assert_allclose(small_batches, mean, atol=1e-5)  # padding is masked out
    cls = clone(feats).set_params(pooling="cls").fit(TEXTS[:1]).transform(TEXTS)
    assert not np.allclose(cls, mean)
    restored = pickle.loads(pickle.dumps(feats))
    assert "_loaded" in feats.__dict__ and "_loaded" not in restored.__dict__
    np.testing.assert_allclose(restored.transform(TEXTS[:4]), mean[:4], atol=1e-6)


def test_featurizer_batches_by_token_count_and_keeps_the_input_order(bert):
    feats = TransformerFeaturizer(model=bert, batch_size=2, progress=False).fit(TEXTS[:1])
    tokenizer, model = feats._encoder()
    # short in characters but long in tokens (unknown words split into characters), and the reverse
    texts = ["gdoo mfli tecad", "the film", "the movie is good and the acting", "zq", "good",
             "odgo lifm"]  # fmt: skip
    counts = [len(tokenizer(t)["input_ids"]) for t in texts]
    assert counts == [15, 4, 12, 3, 6, 10]  # by characters: 12+15, 10+4, 6+3 -> widths 15, 10, 6
    seen = []
    forward = model.forward
    model.forward = lambda **b: seen.append(b["input_ids"].shape) or forward(**b)
    try:
        out = feats.transform(texts)
    finally:
        del model.forward
    assert [shape[1] for shape in seen] == sorted(counts, reverse=True)[::2]  # no extra padding
    assert sum(shape[0] for shape in seen) == len(texts)
    one_by_one = np.concatenate([feats.transform([t]) for t in texts])
    np.testing.assert_allclose(out, one_by_one, atol=1e-5)


def test_featurizer_cache_hit(bert, tmp_path):
    feats = TransformerFeaturizer(model=bert, cache_dir=str(tmp_path), progress=False).fit(TEXTS)
    first = feats.transform(TEXTS)
    assert feats.last_cache_hit_ is False and feats.cache_misses_ == 1
    assert feats.last_cache_path_.is_file() and feats.last_cache_path_.parent == tmp_path
    feats.__dict__.pop("_loaded")  # a hit must not need the encoder
    second = feats.transform(TEXTS)
    assert feats.last_cache_hit_ is True and feats.cache_hits_ == 1
    assert "_loaded" not in feats.__dict__
    np.testing.assert_array_equal(first, second)
    keys = {
        feats.cache_key(TEXTS),
        feats.cache_key(TEXTS[:-1]),
        clone(feats).set_params(pooling="cls").fit(TEXTS).cache_key(TEXTS),
        clone(feats).set_params(max_length=16).fit(TEXTS).cache_key(TEXTS),
    }
    assert len(keys) == 4
    assert TransformerFeaturizer(model=bert).fit(TEXTS[:1]).cache_path(TEXTS) is None


def test_featurizer_bad_params(bert):
    with pytest.raises(ValueError, match="pooling must be one of"):
        TransformerFeaturizer(model=bert, pooling="max").fit(TEXTS)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TransformerFeaturizer(model=bert, batch_size=0).fit(TEXTS)
    with pytest.raises(ValueError, match="empty training set"):
        TransformerFeaturizer(model=bert).fit([])


# -- factory and config ----------------------------------------------------------------------


def test_make_baseline_steps_and_params():
    pipe = make_baseline("tfidf-lr", C=4.0, ngram_range=[1, 3], class_weight="balanced", seed=5)
    assert [n for n, _ in pipe.steps] == ["vectorizer", "clf"]
    params = pipe.get_params()
    assert params["clf__C"] == 4.0 and params["clf__class_weight"] == "balanced"
    assert params["vectorizer__ngram_range"] == (1, 3) and params["clf__random_state"] == 5
    union = make_baseline("tfidf-svm", analyzer="word+char", char_ngram_range=[3, 4])
    assert union.get_params()["vectorizer__char__ngram_range"] == (3, 4)
    assert type(make_baseline("features-svm", kernel="rbf")[-1]).__name__ == "SVC"
    assert type(make_baseline("tfidf-nb")[-1]).__name__ == "ComplementNB"
    assert [n for n, _ in make_baseline("w2v-lr").steps] == ["vectorizer", "scaler", "clf"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "bert-lr"}, r"unknown baseline method 'bert-lr'; expected one of \['bow-lr'"),
        ({"ngram_range": [2, 1]}, r"ngram_range must satisfy 1 <= min <= max, found \[2, 1\]"),
        ({"ngram_range": "12"}, r"ngram_range must be two integers"),
        ({"class_weight": "auto"}, "class_weight must be null or 'balanced'"),
        ({"C": 0}, "C must be a number > 0"),
        (
            {"clf_alpha": "x"},
            r"option 'clf_alpha' \(BaselineArgs\) expects a number or null, found 'x'",
        ),
        ({"clf_alpha": 0}, "clf_alpha must be a number > 0"),
        ({"method": "tfidf-nb", "class_weight": "balanced"}, "takes no class_weight"),
        ({"feature_pooling": "max"}, r"feature_pooling must be one of \['mean', 'cls'\]"),
    ],
)
def test_baseline_args_validation(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        BaselineArgs(**kwargs)


def test_make_baseline_rejects_unknown_parameter():
    with pytest.raises(ConfigError, match=r"unknown baseline parameter\(s\) \['lr'\]"):
        make_baseline("tfidf-lr", lr=0.1)

"""The skops loader loads what our tunes write and refuses functions and whole module prefixes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from modelcommons.errors import InvalidInputError
from modelcommons.ml import tabular
from modelcommons.ml.data import Splits
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.safe_skops import load_skops, refused_types

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _table(rows: int = 60) -> pd.DataFrame:
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.rand(rows, 3), columns=["a", "b", "c"])
    frame["label"] = np.where(frame["a"] > 0.5, "big", "small")
    return frame


def test_loads_the_model_a_tabular_tune_writes(tmp_path: Path):
    frame = _table()
    splits = Splits(frame[:40], frame[40:50], frame[50:], "table")
    recipe = Recipe(
        task="tabular-classification",
        base="scikit-learn",
        data="table",
        method="logistic-regression",
    )
    tabular.train(recipe, splits, tmp_path, token=None, progress=lambda f, line: None)
    estimator = load_skops(tmp_path / tabular.MODEL_FILE)
    assert set(estimator.predict(frame[["a", "b", "c"]])) <= {"big", "small"}


def test_loads_common_preprocessing_and_estimators(tmp_path: Path):
    frame = _table()
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), StandardScaler(with_mean=False))
    model.steps.append(("lr", LogisticRegression()))
    model.fit(frame[["a", "b"]].round(1), frame["label"])
    skops.io.dump(model, tmp_path / "m.skops")
    assert len(load_skops(tmp_path / "m.skops").predict(frame[["a", "b"]].round(1))) == 60


def test_refuses_function_transformers_and_names_each_type(tmp_path: Path):
    frame = _table()
    model = make_pipeline(FunctionTransformer(np.log1p), LogisticRegression())
    model.fit(frame[["a", "b"]], frame["label"])
    skops.io.dump(model, tmp_path / "m.skops")
    with pytest.raises(InvalidInputError) as refused:
        load_skops(tmp_path / "m.skops")
    assert "numpy.log1p (a function)" in refused.value.message
    assert (
        "sklearn.preprocessing._function_transformer.FunctionTransformer" in refused.value.message
    )
    # Even a FunctionTransformer wrapping nothing: the class itself is not on the list.
    skops.io.dump(make_pipeline(FunctionTransformer(), LogisticRegression()), tmp_path / "n.skops")
    with pytest.raises(InvalidInputError, match="FunctionTransformer"):
        load_skops(tmp_path / "n.skops")


def _node(module: str, name: str, loader: str = "ObjectNode") -> dict:
    return {"__class__": name, "__module__": module, "__loader__": loader}


def test_module_prefixes_are_not_trusted():
    """Names under sklearn. or numpy. load only when they are on the list, and functions,
    methods, partials and reduce-constructed objects never do."""
    pipeline = _node("sklearn.pipeline", "Pipeline")
    pipeline["content"] = {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": {
            "a": _node(
                "sklearn.utils._testing", "assert_run_python_script_without_output", "FunctionNode"
            ),
            "b": _node("sklearn.utils._testing", "TempMemmap"),
            "c": _node("numpy.lib._npyio_impl", "NpzFile"),
            "d": _node("builtins", "method", "MethodNode"),
            "e": _node("functools", "partial", "PartialNode"),
            "f": _node("sklearn.tree._tree", "Tree", "TreeNode"),
            "g": _node("builtins", "eval", "TypeNode"),
        },
    }
    assert refused_types(pipeline) == [
        "builtins.eval",
        "builtins.method (loaded by MethodNode)",
        "functools.partial (loaded by PartialNode)",
        "numpy.lib._npyio_impl.NpzFile",
        "sklearn.tree._tree.Tree (loaded by TreeNode)",
        "sklearn.utils._testing.TempMemmap",
        "sklearn.utils._testing.assert_run_python_script_without_output (a function)",
    ]


def test_a_file_that_is_not_skops_is_refused_cleanly(tmp_path: Path):
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="not a readable skops file"):
        load_skops(tmp_path / "junk.skops")
    with zipfile.ZipFile(tmp_path / "list.skops", "w") as archive:
        archive.writestr("schema.json", json.dumps([1, 2]))
    with pytest.raises(InvalidInputError, match="not a readable skops file"):
        load_skops(tmp_path / "list.skops")

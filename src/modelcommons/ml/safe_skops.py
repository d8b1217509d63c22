"""Loading skops files without running their code: every object a file names must be one of
an explicit list of scikit-learn estimator and transformer classes (and the numpy and builtin
types their fitted state holds). Functions, methods and partials are never loaded, so a
`FunctionTransformer` (or any estimator holding a callable) cannot smuggle one in.

skops trusts some types by default (every scikit-learn estimator, FunctionTransformer
included); its own check is therefore not enough, and we read the file's schema ourselves.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from modelcommons.errors import InvalidInputError

# How skops rebuilds an object. The others call or fetch something by name (FunctionNode,
# MethodNode, PartialNode, OperatorFuncNode), or construct through __reduce__ (ReduceNode,
# TreeNode: skops itself warns a crafted tree can crash the process).
SAFE_LOADERS = frozenset(
    {
        "ObjectNode",
        "DictNode",
        "ListNode",
        "TupleNode",
        "SetNode",
        "JsonNode",
        "NdArrayNode",
        "DTypeNode",
        "TypeNode",
        "SliceNode",
        "LossNode",
        "CachedNode",
    }
)
MAX_SCHEMA_BYTES = 64 * 1024**2  # far above any linear model's; bounds what we parse


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


@cache
def allowed_types() -> frozenset[str]:
    """Every class a skops file may name: what our tabular tunes write, common linear models,
    naive Bayes, SVMs and preprocessing, and the numpy and builtin types of their state."""
    import numpy as np
    from sklearn import (
        compose,
        decomposition,
        dummy,
        feature_extraction,
        impute,
        linear_model,
        naive_bayes,
        pipeline,
        preprocessing,
        svm,
    )
    from sklearn._loss._loss import CyHalfBinomialLoss
    from sklearn.linear_model._sgd_fast import Hinge, ModifiedHuber, SquaredHinge

    builtin = [dict, list, tuple, set, str, int, float, bool, slice]
    numeric = [np.ndarray, np.dtype, np.bool_, np.str_, np.float16, np.float32, np.float64]
    numeric += [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32]
    numeric += [np.uint64]
    sklearn = [
        pipeline.Pipeline,
        pipeline.FeatureUnion,
        compose.ColumnTransformer,
        preprocessing.StandardScaler,
        preprocessing.MinMaxScaler,
        preprocessing.MaxAbsScaler,
        preprocessing.RobustScaler,
        preprocessing.Normalizer,
        preprocessing.OneHotEncoder,
        preprocessing.OrdinalEncoder,
        preprocessing.LabelEncoder,
        preprocessing.LabelBinarizer,
        preprocessing.PolynomialFeatures,
        impute.SimpleImputer,
        decomposition.PCA,
        decomposition.TruncatedSVD,
        feature_extraction.text.CountVectorizer,
        feature_extraction.text.TfidfVectorizer,
        feature_extraction.text.TfidfTransformer,
        linear_model.LogisticRegression,
        linear_model.LinearRegression,
        linear_model.Ridge,
        linear_model.RidgeClassifier,
        linear_model.Lasso,
        linear_model.ElasticNet,
        linear_model.SGDClassifier,
        linear_model.Perceptron,
        naive_bayes.GaussianNB,
        naive_bayes.MultinomialNB,
        svm.LinearSVC,
        svm.SVC,
        dummy.DummyClassifier,
        Hinge,
        ModifiedHuber,
        SquaredHinge,
        CyHalfBinomialLoss,
    ]
    return frozenset(_name(cls) for cls in builtin + numeric + sklearn)


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every node of a skops schema, wherever it sits (iteratively: files may nest deeply)."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "__loader__" in item:
                yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def refused_types(schema: dict[str, Any]) -> list[str]:
    """The types in a skops schema this hub will not load, each said once, sorted."""
    allowed, refused = allowed_types(), set()
    for node in _nodes(schema):
        loader = str(node["__loader__"])
        if loader == "JsonNode":
            continue  # plain JSON: numbers, strings, booleans, null
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        if loader not in SAFE_LOADERS:
            kind = "a function" if loader == "FunctionNode" else f"loaded by {loader}"
            refused.add(f"{name} ({kind})")
        elif name not in allowed:
            refused.add(name)
    return sorted(refused)


def _schema(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo("schema.json").file_size > MAX_SCHEMA_BYTES:
                raise InvalidInputError(f"{path.name} has a schema too large to check.")
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{path.name} is not a readable skops file: {exc}") from exc
    if not isinstance(schema, dict):
        raise InvalidInputError(f"{path.name} is not a readable skops file.")
    return schema


def load_skops(path: Path) -> Any:
    """The estimator in a skops file, if every type it names is allowed; else a refusal that
    names each refused type."""
    import skops.io

    schema = _schema(path)
    refused = refused_types(schema)
    if refused:
        raise InvalidInputError(
            f"{path.name} holds types this hub will not load: {', '.join(refused)}. "
            "Only scikit-learn estimators and transformers on its list load, never functions."
        )
    return skops.io.load(path, trusted=sorted(allowed_types()))

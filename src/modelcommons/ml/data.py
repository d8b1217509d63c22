"""Loading tabular and text data (hub dataset repos or local CSV / JSON Lines / Parquet files)
into train / validation / test frames, with checks that stop bad data before training."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelcommons.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
TEXT_COLUMNS = ("text", "sentence", "review", "content")
SPLIT_NAMES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
}


@dataclass
class Splits:
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    source: str  # hub repo id or local path, for the card and the recipe


def _read(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.stat().st_size == 0:
        raise InvalidInputError(f"{path.name} is empty.")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path)
        if path.suffix in (".jsonl", ".json"):
            return pd.read_json(path, lines=path.suffix == ".jsonl")
        return pd.read_parquet(path)
    except ValueError as exc:
        raise InvalidInputError(f"Cannot read {path.name}: {exc}") from exc


def local_or_hub(
    source: str, *, repo_type: str = "model", endpoint: str | None = None, token: str | None = None
) -> Path:
    """A local file or folder as it is; anything else, a repo fetched through the HF protocol."""
    if Path(source).exists():
        return Path(source)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(source, repo_type=repo_type, endpoint=endpoint, token=token))


def _data_files(source: str, *, endpoint: str | None, token: str | None) -> list[Path]:
    local = local_or_hub(source, repo_type="dataset", endpoint=endpoint, token=token)
    files = [local] if local.is_file() else sorted(local.rglob("*"))
    files = [f for f in files if f.is_file() and f.suffix in SUFFIXES]
    if not files:
        raise InvalidInputError(f"{source} holds no CSV, JSON Lines or Parquet file.")
    return files


def _split_of(path: Path) -> str | None:
    for part in reversed(path.with_suffix("").parts):
        for token in part.lower().replace("_", "-").split("-"):
            if token in SPLIT_NAMES:
                return SPLIT_NAMES[token]
    return None


def load_splits(
    source: str,
    *,
    label_column: str | None,
    seed: int,
    endpoint: str | None = None,
    token: str | None = None,
    max_rows: int | None = None,
) -> Splits:
    """Named splits when the files carry them; otherwise a seeded, stratified 70/15/15 split."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frames: dict[str, list[pd.DataFrame]] = {}
    for path in _data_files(source, endpoint=endpoint, token=token):
        frames.setdefault(_split_of(path) or "all", []).append(_read(path))
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}
    everything = pd.concat(tables.values(), ignore_index=True)
    if everything.empty:
        raise InvalidInputError(f"{source} has no rows.")
    if label_column is not None:
        _check_labels(everything, label_column, source)

    def split(frame: pd.DataFrame, **size: float | int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Seeded, and stratified by label when there is one."""
        strata = frame[label_column] if label_column is not None else None
        parts = train_test_split(frame, random_state=seed, stratify=strata, **size)
        return parts[0], parts[1]

    if max_rows is not None and len(everything) > max_rows and "train" not in tables:
        everything, _ = split(everything, train_size=max_rows)
    if "train" in tables and "test" in tables:
        train, test = tables["train"], tables["test"]
        if max_rows is not None and len(train) > max_rows:
            train, _ = split(train, train_size=max_rows)
        validation = tables.get("validation")
        if validation is None:
            train, validation = split(train, test_size=0.15)
    else:
        train, rest = split(everything, test_size=0.3)
        validation, test = split(rest, test_size=0.5)
    return Splits(
        train.reset_index(drop=True),
        validation.reset_index(drop=True),
        test.reset_index(drop=True),
        source,
    )


def _check_labels(frame: pd.DataFrame, label_column: str, source: str) -> None:
    if label_column not in frame.columns:
        raise InvalidInputError(
            f"{source} has no label column {label_column!r} (columns: "
            f"{', '.join(map(str, frame.columns))}); pass --label-column."
        )
    if frame[label_column].isna().any():
        raise InvalidInputError(f"Some rows of {source} have no {label_column!r}.")
    if frame[label_column].nunique() < 2:
        raise InvalidInputError(
            f"{source} has a single class in {label_column!r}: nothing to learn."
        )


def pick_column(
    frame: pd.DataFrame, wanted: str | None, candidates: tuple[str, ...], what: str
) -> str:
    if wanted is not None:
        if wanted not in frame.columns:
            raise InvalidInputError(f"No {what} column {wanted!r} in the data.")
        return wanted
    for name in candidates:
        if name in frame.columns:
            return name
    raise InvalidInputError(
        f"Found no {what} column (tried {', '.join(candidates)}); pass --{what}-column."
    )

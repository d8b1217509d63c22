"""Which files go to LFS: size ≥ 10 MiB, a `filter=lfs` pattern in .gitattributes, or a
NUL byte in the preupload sample (ARCHITECTURE.md, "Which files go to LFS")."""

from __future__ import annotations

import fnmatch
from typing import Literal

UploadMode = Literal["regular", "lfs"]  # how a client sends a file: in the commit, or to LFS
LFS_THRESHOLD = 10 * 1024 * 1024

# What a new repo's .gitattributes marks as LFS, like the Hub's default.
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in [
        "*.7z",
        "*.arrow",
        "*.bin",
        "*.bz2",
        "*.ckpt",
        "*.ftz",
        "*.gz",
        "*.h5",
        "*.joblib",
        "*.lfs.*",
        "*.mlmodel",
        "*.model",
        "*.msgpack",
        "*.npy",
        "*.npz",
        "*.onnx",
        "*.ot",
        "*.parquet",
        "*.pb",
        "*.pickle",
        "*.pkl",
        "*.pt",
        "*.pth",
        "*.rar",
        "*.safetensors",
        "saved_model/**/*",
        "*.tar.*",
        "*.tar",
        "*.tflite",
        "*.tgz",
        "*.wasm",
        "*.xz",
        "*.zip",
        "*.zst",
        "*tfevents*",
        "*.gguf",
        "*.skops",
    ]
)


def lfs_patterns(gitattributes: str) -> list[str]:
    patterns = []
    for line in gitattributes.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def matches_lfs(path: str, patterns: list[str]) -> bool:
    name = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" in pattern.strip("/"):
            if fnmatch.fnmatchcase(path, pattern.lstrip("/").replace("**/", "*")):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def upload_mode(path: str, *, size: int, sample: bytes, patterns: list[str]) -> UploadMode:
    if size >= LFS_THRESHOLD or b"\0" in sample or matches_lfs(path, patterns):
        return "lfs"
    return "regular"

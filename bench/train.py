"""Training benchmark: BANKING77, Bitext, out-of-scope recall and the ticket index.

Run: `PYTHONPATH=. python bench/train.py` (what `make bench-train` does); `… bench/train.py eta [TICKETS]`
measures the training ETA alone against the time that was really left (a few minutes). Every trained
figure goes through `train_bot_version` and `LoadedBotModel`, the product's code path, in a
child process so that its peak RSS is the training's own. The baseline (frozen MiniLM
embeddings + logistic regression) is measured in the same run, on the same machine.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

import faiss
import numpy as np

from bench._report import print_report
from ml.encoder import SentenceEncoder, default_base_model_path
from ml.evaluation import expected_calibration_error, heldout_draw, softmax
from ml.index import build_index, search
from ml.oos import DEFAULT_UNKNOWN_HANDOFF
from ml.pipeline import TrainingExample, train_bot_version
from ml.serving import LoadedBotModel
from ml.training import TrainingConfig

DATASETS = Path(os.environ.get("REPLYDESK_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
BANKING77 = DATASETS / "banking77"
BITEXT = DATASETS / "bitext-customer-support" / "tickets.csv"
# Banking77 has ~130 examples per intent: 10% held out still gives ~13 per intent for
# calibration and the operating curve, and leaves more to train on than the product default.
BENCH_CONFIG = TrainingConfig(heldout_fraction=0.1)
FEW_SHOT = 10
OOS_INTENTS = 10
# The out-of-scope run trains a second BANKING77 model without OOS_INTENTS intents; capping
# its examples per intent keeps the whole bench affordable on 2 shared cores.
OOS_TRAIN_PER_INTENT = 50
BITEXT_TEST_FRACTION = 0.2
INDEX_SIZES = (10_000, 100_000, 1_000_000)
HNSW_MAX_SIZE = 100_000
INDEX_QUERIES = 100


def _read_banking77(name: str) -> list[tuple[str, str]]:
    with (BANKING77 / name).open(encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def _read_bitext() -> list[tuple[str, str]]:
    with BITEXT.open(encoding="utf-8") as handle:
        return [(row["instruction"], row["intent"]) for row in csv.DictReader(handle)]


def _few_shot(rows: list[tuple[str, str]], per_intent: int, seed: int = 0) -> list[tuple[str, str]]:
    by_intent: dict[str, list[int]] = defaultdict(list)
    for position, (_, intent) in enumerate(rows):
        by_intent[intent].append(position)
    rng = np.random.default_rng(seed)
    chosen = sorted(p for positions in by_intent.values() for p in rng.permutation(positions)[:per_intent])
    return [rows[p] for p in chosen]


def _train_and_test(job: dict) -> dict:
    """Child process: train through the product pipeline, then answer the test messages."""
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    train_rows, test_rows, config = job["train"], job["test"], TrainingConfig(**job["config"])
    examples = [TrainingExample(i, text, intent) for i, (text, intent) in enumerate(train_rows)]
    version_dir = Path(job["workdir"]) / job["name"]
    outcome = train_bot_version(
        examples=examples, version_dir=version_dir, base_model=default_base_model_path(),
        config=config,
    )
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = LoadedBotModel.load(version_dir)
    texts = [text for text, _ in test_rows]
    truth = np.array([intent for _, intent in test_rows])
    inferences = model.infer(texts, k=1)
    predicted = np.array([inference.intent for inference in inferences])
    in_scope = np.isin(truth, model.labels)
    correct = predicted == truth
    confidence = np.array([inference.confidence for inference in inferences])
    cut = model.cut_for(DEFAULT_UNKNOWN_HANDOFF)
    answered = np.array([inference.score >= cut for inference in inferences])
    _, calibrated = model.embed_and_score(texts)
    # log p * T equals the raw logits up to a per-row constant, which softmax ignores.
    raw_confidence = softmax(np.log(np.clip(calibrated, 1e-30, None)) * model.temperature).max(axis=1)
    result = {
        "name": job["name"],
        "n_train": len(train_rows),
        "n_test": len(test_rows),
        "n_intents": outcome.metrics["n_intents"],
        "train_wall_s": outcome.metrics["total_seconds"],
        "fine_tune_s": outcome.metrics["train_seconds"],
        "peak_rss_mb": round(peak_rss_mb, 1),
        "heldout_accuracy": outcome.metrics["accuracy"],
        "temperature": outcome.metrics["temperature"],
        "cut": cut,
        "oos_recall_estimate": outcome.metrics["oos_recall"],
        "embedding_dim": model.dimension,
    }
    if in_scope.any():
        from sklearn.metrics import f1_score

        result.update(
            accuracy=float(correct[in_scope].mean()),
            macro_f1=float(f1_score(truth[in_scope], predicted[in_scope], average="macro")),
            coverage=float(answered[in_scope].mean()),
            answer_precision=float(correct[in_scope & answered].mean()) if (in_scope & answered).any() else None,
            ece_before=expected_calibration_error(raw_confidence[in_scope], correct[in_scope]),
            ece_after=expected_calibration_error(confidence[in_scope], correct[in_scope]),
        )
    if (~in_scope).any():
        result.update(
            oos_recall=float((~answered[~in_scope]).mean()),
            oos_count=int((~in_scope).sum()),
        )
    shutil.rmtree(version_dir, ignore_errors=True)
    return result


def _run_isolated(job: dict) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        result = pool.submit(_train_and_test, job).result()
    print(f"[bench] {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def _baseline(train_rows, test_rows, few_shot_rows) -> dict:
    """Frozen base-encoder embeddings + logistic regression: the reference the gain is measured against."""
    from sklearn.linear_model import LogisticRegression

    encoder = SentenceEncoder.load(default_base_model_path())
    started = time.monotonic()
    train_x = encoder.encode([text for text, _ in train_rows])
    test_x = encoder.encode([text for text, _ in test_rows])
    few_x = encoder.encode([text for text, _ in few_shot_rows])
    encode_s = time.monotonic() - started
    test_y = np.array([intent for _, intent in test_rows])
    full = LogisticRegression(C=10, max_iter=2000).fit(train_x, [intent for _, intent in train_rows])
    few = LogisticRegression(C=10, max_iter=2000).fit(few_x, [intent for _, intent in few_shot_rows])
    return {
        "accuracy": float((full.predict(test_x) == test_y).mean()),
        "few_shot_accuracy": float((few.predict(test_x) == test_y).mean()),
        "seconds": round(time.monotonic() - started, 1),
        "encode_s": round(encode_s, 1),
    }


def _clustered_unit_vectors(n: int, dim: int, seed: int, clusters: int = 2000, spread: float = 0.75) -> np.ndarray:
    """Gaussian clusters, pairwise cosine ~0.64 inside a cluster: like tickets of one intent."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(12345).standard_normal((clusters, dim), dtype=np.float32)
    vectors = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        vectors[start : start + size] = centres[rng.integers(0, clusters, size)]
        vectors[start : start + size] += spread * rng.standard_normal((size, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def _query_latency_ms(search_one, queries: np.ndarray) -> float:
    """Median single-query latency with one FAISS thread, as LoadedBotModel serves."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    timings = []
    for query in queries:
        started = time.perf_counter()
        search_one(query[None, :])
        timings.append(time.perf_counter() - started)
    faiss.omp_set_num_threads(threads)
    return float(np.median(timings) * 1000)


def _recall_at_5(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found, exact, strict=True)]))


def _index_bench(dim: int) -> list[dict]:
    rows = []
    queries = _clustered_unit_vectors(INDEX_QUERIES, dim, seed=1)
    for size in INDEX_SIZES:
        vectors = _clustered_unit_vectors(size, dim, seed=0)
        ids = np.arange(size, dtype=np.int64)
        started = time.monotonic()
        exact = build_index(vectors, ids, exact_max_vectors=size)
        exact_build = time.monotonic() - started
        exact_ms = _query_latency_ms(lambda q, index=exact: search(index, q, 5), queries)
        truth = search(exact, queries, 5).ticket_ids
        del exact
        started = time.monotonic()
        ivf = build_index(vectors, ids, exact_max_vectors=0)
        ivf_build = time.monotonic() - started
        ivf_ms = _query_latency_ms(lambda q, index=ivf: search(index, q, 5), queries)
        ivf_recall = _recall_at_5(search(ivf, queries, 5).ticket_ids, truth)
        ivf_lists = faiss.downcast_index(ivf.faiss_index).nlist
        del ivf
        row = {
            "vectors": size, "exact_build_s": round(exact_build, 2), "exact_p50_ms": round(exact_ms, 3),
            "ivf_build_s": round(ivf_build, 2), "ivf_p50_ms": round(ivf_ms, 3), "ivf_recall@5": round(ivf_recall, 4),
            "ivf_lists": ivf_lists, "hnsw_build_s": None, "hnsw_p50_ms": None, "hnsw_recall@5": None,
        }
        if size <= HNSW_MAX_SIZE:
            hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            started = time.monotonic()
            hnsw.add(vectors)
            row["hnsw_build_s"] = round(time.monotonic() - started, 2)
            hnsw.hnsw.efSearch = 64
            row["hnsw_p50_ms"] = round(_query_latency_ms(lambda q, index=hnsw: index.search(q, 5), queries), 3)
            row["hnsw_recall@5"] = round(_recall_at_5(hnsw.search(queries, 5)[1], truth), 4)
            del hnsw
        del vectors
        rows.append(row)
    return rows


def main() -> None:
    banking_train, banking_test = _read_banking77("train.csv"), _read_banking77("test.csv")
    banking_few = _few_shot(banking_train, FEW_SHOT)
    intents = sorted({intent for _, intent in banking_train})
    unseen = set(intents[:: len(intents) // OOS_INTENTS][:OOS_INTENTS])
    bitext = _read_bitext()
    # The top of the text-hash range: the pipeline holds out the bottom of it to measure each version.
    bitext_test = [row for row in bitext if heldout_draw(row[0]) >= 1 - BITEXT_TEST_FRACTION]
    bitext_train = [row for row in bitext if heldout_draw(row[0]) < 1 - BITEXT_TEST_FRACTION]

    baseline = _baseline(banking_train, banking_test, banking_few)
    print(f"[bench] baseline {json.dumps(baseline)}", file=sys.stderr, flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-train-"))
    config = asdict(BENCH_CONFIG)
    try:
        runs = {
            "banking77": _run_isolated({"name": "banking77", "train": banking_train, "test": banking_test,
                                        "config": config, "workdir": str(workdir)}),
            "banking77_10shot": _run_isolated({"name": "banking77_10shot", "train": banking_few,
                                               "test": banking_test, "config": config, "workdir": str(workdir)}),
            "bitext": _run_isolated({"name": "bitext", "train": bitext_train, "test": bitext_test,
                                     "config": asdict(replace(BENCH_CONFIG, heldout_fraction=0.15)),
                                     "workdir": str(workdir)}),
            "banking77_oos": _run_isolated({
                "name": "banking77_oos",
                "train": _few_shot([r for r in banking_train if r[1] not in unseen], OOS_TRAIN_PER_INTENT),
                "test": banking_test, "config": config, "workdir": str(workdir)}),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    index_rows = _index_bench(runs["banking77"]["embedding_dim"])

    b77, few, bitext_run, oos = runs["banking77"], runs["banking77_10shot"], runs["bitext"], runs["banking77_oos"]
    training_rows = [
        {"run": "baseline: frozen MiniLM + LR", "n_train": len(banking_train), "accuracy": baseline["accuracy"],
         "train_s": baseline["seconds"]},
        {"run": f"baseline: frozen + LR, {FEW_SHOT}-shot", "n_train": len(banking_few),
         "accuracy": baseline["few_shot_accuracy"]},
    ] + [
        {"run": name, "n_train": run["n_train"], "intents": run["n_intents"], "accuracy": run.get("accuracy"),
         "macro_f1": run.get("macro_f1"), "train_s": run["train_wall_s"], "fine_tune_s": run["fine_tune_s"],
         "peak_rss_mb": run["peak_rss_mb"], "T": run["temperature"], "cut": run["cut"],
         "coverage": run.get("coverage"), "precision": run.get("answer_precision"),
         "ece_before": run.get("ece_before"), "ece_after": run.get("ece_after"),
         "oos_recall": run.get("oos_recall"), "oos_est": run["oos_recall_estimate"]}
        for name, run in runs.items()
    ]
    largest = index_rows[-1]
    result = {
        "bench": "train",
        "config": config,
        "baseline_lr_accuracy": round(baseline["accuracy"], 4),
        "banking77_accuracy": round(b77["accuracy"], 4),
        "banking77_gain_over_baseline": round(b77["accuracy"] / baseline["accuracy"], 4),
        "banking77_error_reduction": round(1 - (1 - b77["accuracy"]) / (1 - baseline["accuracy"]), 4),
        "banking77_macro_f1": round(b77["macro_f1"], 4),
        "banking77_train_s": b77["train_wall_s"],
        "banking77_peak_rss_mb": b77["peak_rss_mb"],
        "banking77_coverage_at_default": round(b77["coverage"], 4),
        "banking77_precision_at_default": b77["answer_precision"],
        "banking77_10shot_accuracy": round(few["accuracy"], 4),
        "baseline_lr_10shot_accuracy": round(baseline["few_shot_accuracy"], 4),
        "bitext_accuracy": round(bitext_run["accuracy"], 4),
        "bitext_coverage_at_default": round(bitext_run["coverage"], 4),
        "bitext_precision_at_default": bitext_run["answer_precision"],
        "oos_recall": round(oos["oos_recall"], 4),
        "oos_unseen_intents": sorted(unseen),
        "oos_train_per_intent": OOS_TRAIN_PER_INTENT,
        "oos_in_scope_coverage": round(oos["coverage"], 4),
        "ece_before": round(b77["ece_before"], 4),
        "ece_after": round(b77["ece_after"], 4),
        "index": index_rows,
        "index_1m_exact_p50_ms": largest["exact_p50_ms"],
        "index_1m_ivf_p50_ms": largest["ivf_p50_ms"],
        "index_1m_ivf_recall_at_5": largest["ivf_recall@5"],
        "index_1m_ivf_build_s": largest["ivf_build_s"],
    }
    print_report(
        [(f"Intent training (test-set figures; answering at the default operating point, {DEFAULT_UNKNOWN_HANDOFF:.0%} "
          "of unknown questions handed off)", training_rows),
         ("Ticket index (clustered synthetic unit vectors, one query at a time, k=5)", index_rows)],
        result,
    )


ETA_TICKETS = 3000
ETA_REPORT_AT = (0.1, 0.25, 0.5, 0.75, 0.9)
_BATCH_MESSAGE = re.compile(r"^epoch (\d+)/(\d+), batch (\d+)/(\d+),")


def _eta_error(eta: float | None, true_remaining: float) -> float | None:
    return None if eta is None or true_remaining <= 0 else round((eta - true_remaining) / true_remaining, 3)


def _share_of_work_eta(stage: str, message: str, elapsed: float, metrics: dict, config: TrainingConfig) -> float | None:
    """The ETA as it was computed before it was measured (for comparison): the elapsed time scaled by the share
    of the work done, with each stage's work guessed in encodes of one ticket."""
    n_train = metrics["n_train"]
    costs = {"preparing": 800.0, "encoding": float(n_train), "training": 3.5 * config.epochs * n_train,
             "calibrating": 1.0, "evaluating": float(metrics["n_heldout"] + n_train),
             "indexing": float(metrics["n_unlabelled"]), "writing": 500.0}
    if stage not in costs:
        return None
    names = list(costs)
    done = sum(costs[name] for name in names[: names.index(stage)])
    batch = _BATCH_MESSAGE.match(message)
    if batch:
        epoch, epochs, number, per_epoch = map(int, batch.groups())
        done += costs["training"] * ((epoch - 1) * per_epoch + number) / (epochs * per_epoch)
    return elapsed / done * (sum(costs.values()) - done) if done > 0 and elapsed > 0.5 else None


def _eta_run(examples: list[TrainingExample], config: TrainingConfig, core_taken_at_training: bool) -> dict:
    """One run; every progress save as (elapsed, ETA) against the time that was really left then."""
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    saves: list[tuple[float, object]] = []

    def on_progress(update) -> None:
        saves.append((time.monotonic() - started, update))
        if core_taken_at_training and update.stage == "training" and torch.get_num_threads() > 1:
            torch.set_num_threads(1)  # as if another job took a core when training began

    workdir = Path(tempfile.mkdtemp(prefix="bench-eta-"))
    started = time.monotonic()
    try:
        outcome = train_bot_version(examples=examples, version_dir=workdir / "v0001",
                                    base_model=default_base_model_path(), config=config, on_progress=on_progress)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        torch.set_num_threads(min(2, os.cpu_count() or 1))
    total = time.monotonic() - started
    points = []
    for elapsed, update in saves:
        true_remaining = total - elapsed
        old = _share_of_work_eta(update.stage, update.message, elapsed, outcome.metrics, config)
        points.append({
            "elapsed_s": round(elapsed, 1), "stage": update.stage, "epoch": update.epoch, "percent": update.percent,
            "true_left_s": round(true_remaining, 1), "eta_s": update.eta_seconds,
            "error": _eta_error(update.eta_seconds, true_remaining),
            "old_eta_s": None if old is None else round(old, 1), "old_error": _eta_error(old, true_remaining),
            "message": update.message,
        })
    stage_starts: dict[str, float] = {}
    for point in points:
        stage_starts.setdefault(point["stage"], point["elapsed_s"])
    names = list(stage_starts)
    stages = {name: round((stage_starts[names[i + 1]] if i + 1 < len(names) else total) - stage_starts[name], 1)
              for i, name in enumerate(names)}
    epoch_ends = [p for p in points if (m := _BATCH_MESSAGE.match(p["message"])) and m.group(3) == m.group(4)]
    shown = [p for p in points if p["eta_s"] is not None and p["stage"] != "done"]
    sampled = [min(shown, key=lambda p, t=t: abs(p["elapsed_s"] - t * total)) for t in ETA_REPORT_AT] if shown else []
    after_epoch_one = [p for p in shown if epoch_ends and p["elapsed_s"] >= epoch_ends[0]["elapsed_s"]
                       and p["true_left_s"] >= 5]
    first_batches = [p for p in shown if p["stage"] == "training" and p["epoch"] == 1]
    n_train, per_epoch = outcome.metrics["n_train"], -(-outcome.metrics["n_train"] // config.batch_size)
    encode_s = stages["encoding"] / n_train
    batch_s = outcome.metrics["train_seconds"] / (config.epochs * per_epoch)
    return {
        "points": points,
        "table": sorted({id(p): p for p in epoch_ends + sampled}.values(), key=lambda p: p["elapsed_s"]),
        "summary": {
            "total_s": round(total, 1), "stages_s": stages,
            "epoch1_end": epoch_ends and {k: epoch_ends[0][k] for k in ("elapsed_s", "true_left_s", "eta_s",
                                                                         "error", "old_eta_s", "old_error")},
            "first_batch": first_batches and {k: first_batches[0][k] for k in ("elapsed_s", "true_left_s", "eta_s",
                                                                              "error", "old_eta_s", "old_error")},
            "worst_error_after_epoch1": max((abs(p["error"]) for p in after_epoch_one), default=None),
            "worst_old_error_after_epoch1": max((abs(p["old_error"]) for p in after_epoch_one
                                                 if p["old_error"] is not None), default=None),
            # What ml/pipeline.py assumes for what it cannot time in advance, as this run timed it.
            "encode_ms_per_ticket": round(1000 * encode_s, 2), "batch_s": round(batch_s, 3),
            "train_step_cost_in_encodes": round(batch_s / (encode_s * n_train / per_epoch), 2),
            "write_seconds_per_load_second": round(stages["writing"] / stages["preparing"], 2),
        },
    }


def eta_bench(tickets: int = ETA_TICKETS) -> None:
    """How honest the training ETA is: the product's pipeline and configuration on Bitext tickets, on a steady
    machine and with a core taken away when training begins (what a shared worker sees); the share-of-work
    ETA it replaced is computed on the same timelines."""
    rows = _read_bitext()
    chosen = sorted(np.random.default_rng(0).permutation(len(rows))[:tickets])
    examples = [TrainingExample(int(i), rows[i][0], rows[i][1]) for i in chosen]
    config = TrainingConfig()
    runs = {"steady": _eta_run(examples, config, core_taken_at_training=False),
            "core_taken_at_training": _eta_run(examples, config, core_taken_at_training=True)}
    if os.environ.get("BENCH_ETA_SAVES"):
        Path(os.environ["BENCH_ETA_SAVES"]).write_text(
            json.dumps({name: run["points"] for name, run in runs.items()}, indent=1))
    tables = []
    for name, run in runs.items():
        stages = run["summary"]["stages_s"]
        tables.append((f"{name}: stages (s)", [{"stage": k, "seconds": v} for k, v in stages.items()]))
        tables.append((f"{name}: ETA at each epoch's end and through the run (error = (eta - true) / true; "
                       "old = share of work, as before)",
                       [{k: v for k, v in p.items() if k != "message"} for p in run["table"]]))
    print_report(tables, {"bench": "train-eta", "tickets": len(examples), "epochs": config.epochs,
                          "batch_size": config.batch_size, **{name: run["summary"] for name, run in runs.items()}})


if __name__ == "__main__":
    if sys.argv[1:2] == ["eta"]:
        eta_bench(int(sys.argv[2]) if len(sys.argv) > 2 else ETA_TICKETS)
    else:
        main()

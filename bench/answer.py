"""Answer serving figures for two bots: the demo bot and a BANKING77-trained bot.

For each bot: cold load into the model cache, bare throughput of the encoder that serves it
(ONNX Runtime for versions that carry `encoder.onnx`, batch 64, on the serving thread count, which is
one core; on both cores and on torch alongside for reference), on the very texts the conversations
send (each made unique by a "#n" suffix), then over a real daphne process (on uvloop, as deployed)
and real websockets, each load read against the bare encoder measured again just before it:

- one conversation at a time: p50/p95;
- "concurrent": BENCH_CONVERSATIONS (200) conversations for BENCH_SECONDS (60) that together offer
  TARGET_FRACTION (60%) of the bare encoder's sentences/s, each on a fixed schedule with a random
  phase: answers/s (those that arrived within the seconds), p50/p95/p99, errors, lost and duplicated
  messages;
- "saturated": the same conversations each sending again as soon as it is answered: the most
  answers/s the server sustains. Their latency is conversations / answers per second (Little's
  law): 200 such conversations could only see p95 under 300 ms above 667 answers/s, more than the
  encoder itself can do on this machine, which is why the latency target is read at the offered load.

The demo bot runs both again with micro-batching off. Each client acknowledges what it was shown,
as the widget does.

The embedded default runs it: a throwaway SQLite database, Channels' in-memory layer. The demo
bot is the `make run` demo (demo tickets, a 2-epoch training run). The BANKING77 bot is trained
once through the product pipeline on train.csv (10,003 messages, 77 intents) with one epoch (the
product default is 3: serving cost does not depend on it, and one epoch trains in ~2 minutes on
this CPU) and cached under var/bench/, keyed by the data, the config and the version format;
later runs reuse it. Its canned answer per intent is the intent's name (BANKING77 has no agent
replies); it answers test.csv messages. Its test accuracy through ONNX Runtime and through torch
is measured once per cached version.
"""

from __future__ import annotations

import asyncio
import atexit
import csv
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(tempfile.mkdtemp(prefix="replydesk-bench-answer-"))
atexit.register(shutil.rmtree, VAR, ignore_errors=True)  # the throwaway database and the demo bot's version
os.environ.update({
    "REPLYDESK_VAR_DIR": str(VAR), "DJANGO_SETTINGS_MODULE": "config.settings", "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "CELERY_TASK_ALWAYS_EAGER": "true",
    "WIDGET_VISITOR_RATE": "1000", "WIDGET_VISITOR_BURST": "1000", "WIDGET_BOT_RATE": "100000",
    "WIDGET_BOT_BURST": "100000", "TRAINING_CONFIG_OVERRIDES": json.dumps({"epochs": 2}),
})
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import uvloop  # noqa: E402
import websockets  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench._report import print_report  # noqa: E402
from billing.services.subscriptions import change_plan  # noqa: E402
from bots.models import Bot  # noqa: E402
from bots.services.bots import create_bot  # noqa: E402
from conversations.models import Message  # noqa: E402
from ml.encoder import ONNX_OPSET, default_base_model_path  # noqa: E402
from ml.model_cache import ModelCache  # noqa: E402
from ml.pipeline import TrainingExample, train_bot_version  # noqa: E402
from ml.serving import LoadedBotModel  # noqa: E402
from ml.training import TrainingConfig  # noqa: E402
from ml.versions import FORMAT_VERSION, CorruptVersionError, verify_version  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from training.models import ModelVersion  # noqa: E402
from training.services import activate_version  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "200"))
SINGLE_SECONDS = min(10.0, SECONDS / 3)
ENCODER_SECONDS = 5.0
CLIENT_ACKS = os.environ.get("BENCH_ACKS", "1") != "0"
# The target: the concurrent conversations together offer this share of the bare encoder's
# throughput (and get answers within 300 ms at p95).
TARGET_FRACTION = 0.6
DATASETS = Path(os.environ.get("REPLYDESK_DATASETS", ROOT.parent / "shared" / "datasets"))
BANKING77 = DATASETS / "banking77"
BANKING77_CONFIG = TrainingConfig(epochs=1, heldout_fraction=0.1)
BENCH_CACHE = ROOT / "var" / "bench"
DEMO_QUESTIONS = [
    "How do I get my money back for my order?", "Has my order shipped yet?", "I forgot my password",
    "Can I change my delivery address?", "My payment was declined", "The item arrived broken",
    "When are you open?", "Please cancel my order", "How long does shipping take?", "where is my parcel",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, batching: bool) -> subprocess.Popen:
    env = {**os.environ, "BOTS_MICRO_BATCHING": "true" if batching else "false"}
    process = subprocess.Popen([sys.executable, "-m", "config.web", "-b", "127.0.0.1", "-p", str(port),
                                "config.asgi:application"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("daphne did not start")


def load_as_served(version_dir: str | Path, prefer_onnx: bool = True) -> LoadedBotModel:
    return LoadedBotModel.load(version_dir, prefer_onnx=prefer_onnx and settings.BOTS_SERVE_ONNX,
                               onnx_threads=settings.BOTS_ONNX_THREADS)


def cold_load_seconds(version_dir: str) -> tuple[LoadedBotModel, float]:
    """Time to verify and load a version into an empty model cache, as a web process does."""
    cache = ModelCache(load_as_served, max_models=1, max_bytes=2**40, size_of=lambda m: m.memory_bytes)
    started = time.perf_counter()
    model = cache.get(version_dir)
    return model, time.perf_counter() - started


def question_text(question: str, sent: int) -> str:
    """What a bench conversation sends as its `sent`-th message: each text unique, as real questions are."""
    return f"{question} #{sent}"


def encoder_throughput(model: LoadedBotModel, questions: list[str]) -> float:
    """Sentences/s of the bare encoder in batches of 64 of the texts the conversations send (the suffix that
    makes each unique is two more tokens, a fifth of a short question's cost)."""
    batch = [question_text(questions[n % len(questions)], n) for n in range(64)]
    model.embed_and_score(batch)
    started, rounds = time.perf_counter(), 0
    while time.perf_counter() - started < ENCODER_SECONDS:
        model.embed_and_score(batch)
        rounds += 1
    return rounds * 64 / (time.perf_counter() - started)


async def conversation(url: str, origin: str, questions: list[str], clock: dict, latencies: list, stats: dict,
                       offset: int, every_s: float = 0.0):
    """Connect, wait for every conversation to be connected, then ask, wait for the answer and ask again:
    at once, or (`every_s`) on a fixed schedule with a random phase, until the clock's end."""
    async with websockets.connect(url, origin=origin, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        welcome = json.loads(await ws.recv())
        stats["conversations"].append(welcome["conversation_id"])
        clock["connected"] += 1
        if clock["connected"] == clock["expected"]:
            clock["until"] = time.monotonic() + clock["seconds"]
            clock["go"].set()
        await clock["go"].wait()
        until = clock["until"]
        seen: set[int] = set()
        sent = 0
        next_at = time.monotonic() + random.uniform(0, every_s)
        while time.monotonic() < until:
            if every_s:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += every_s
                if time.monotonic() >= until:
                    break
            text = question_text(questions[(offset + sent) % len(questions)], sent)
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": f"m{sent}"}))
            sent += 1
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame["type"] == "error":
                    stats["errors"] += 1
                    break
                if "seq" in frame and frame["type"] != "ack":
                    stats["duplicated"] += frame["seq"] in seen
                    seen.add(frame["seq"])
                    latencies.append((time.perf_counter() - started) * 1000)
                    stats["answers"] += 1
                    stats["answered_in_time"] += time.monotonic() <= until
                    if CLIENT_ACKS:
                        await ws.send(json.dumps({"type": "ack", "seq": frame["seq"]}))
                    if frame["type"] == "handoff":  # reopen so the bot keeps answering
                        await ws.send(json.dumps({"type": "csat", "rating": 3}))
                    break
        stats["sent"] += sent


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def run_load(url: str, origin: str, questions: list[str], conversations: int, seconds: float,
                   rate: float | None = None) -> dict:
    """`conversations` at once for `seconds` once all are connected: closed loop, or together offering
    `rate` messages/s. Answers/s counts the answers that arrived within those seconds."""
    stats = {"answers": 0, "answered_in_time": 0, "errors": 0, "duplicated": 0, "sent": 0, "conversations": []}
    clock = {"expected": conversations, "connected": 0, "seconds": seconds, "go": asyncio.Event()}
    latencies: list[float] = []
    every_s = conversations / rate if rate else 0.0
    results = await asyncio.gather(*[
        conversation(url, origin, questions, clock, latencies, stats, offset=n * 7, every_s=every_s)
        for n in range(conversations)
    ], return_exceptions=True)
    stats["errors"] += sum(isinstance(r, Exception) for r in results)
    return {"latencies": latencies, "seconds": seconds, **stats}


def lost_messages(conversation_ids: list[int], sent: int, refused: int, answers: int) -> int:
    """Sent and not refused but never stored, plus stored but never answered."""
    visitor = Message.objects.filter(conversation_id__in=conversation_ids, sender="visitor").count()
    return max(0, sent - refused - visitor) + max(0, visitor - answers)


def load_figures(prefix: str, load: dict) -> dict:
    return {
        f"{prefix}answers_per_s": load["answered_in_time"] / load["seconds"],
        f"{prefix}p50_ms": percentile(load["latencies"], 50), f"{prefix}p95_ms": percentile(load["latencies"], 95),
        f"{prefix}p99_ms": percentile(load["latencies"], 99),
    }


def socket_figures(port: int, bot: Bot, questions: list[str], encoder_now: Callable[[], float], single: bool = True
                   ) -> dict:
    """One conversation at a time (optional), then CONVERSATIONS at once offering TARGET_FRACTION of the
    encoder's throughput, then the same conversations saturating the server, against the running server.

    The bare encoder is measured again just before each of the two loads (`encoder_now`, the server idle),
    and each load is read against its own baseline: this shared machine's speed drifts by a third over
    the minutes a run takes, and a baseline from its start would compare a fast minute with a slow one."""
    origin = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/ws/widget/{bot.public_key}/"
    # The clients run on uvloop too: on these 2 cores they compete with the server for CPU.
    uvloop.run(run_load(url, origin, questions, 1, 0.5))  # the server loads the model
    row: dict = {"conversations": CONVERSATIONS}
    if single:
        alone = uvloop.run(run_load(url, origin, questions, 1, SINGLE_SECONDS))
        row.update(p50_ms=percentile(alone["latencies"], 50), p95_ms=percentile(alone["latencies"], 95))
    c_baseline = encoder_now()
    offered = TARGET_FRACTION * c_baseline
    target = uvloop.run(run_load(url, origin, questions, CONVERSATIONS, SECONDS, rate=offered))
    sat_baseline = encoder_now()
    saturated = uvloop.run(run_load(url, origin, questions, CONVERSATIONS, SECONDS))
    row.update(c_baseline_sent_per_s=c_baseline, offered_per_s=offered, **load_figures("c_", target),
               sat_baseline_sent_per_s=sat_baseline, **load_figures("sat_", saturated))
    row.update(errors=0, lost=0, duplicated=0)
    for load in (target, saturated):
        row["errors"] += load["errors"]
        row["duplicated"] += load["duplicated"]
        row["lost"] += lost_messages(load["conversations"], load["sent"], load["errors"], load["answers"])
    return row


def read_banking77(name: str) -> list[tuple[str, str]]:
    with (BANKING77 / name).open(encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def banking77_version() -> tuple[Path, dict, bool]:
    """The cached BANKING77 version (trained on the first run) and its test accuracy; (dir, accuracy, cached)."""
    digest = hashlib.sha256()
    for name in ("train.csv", "test.csv"):
        digest.update((BANKING77 / name).read_bytes())
    digest.update(json.dumps([asdict(BANKING77_CONFIG), FORMAT_VERSION, ONNX_OPSET], sort_keys=True).encode())
    home = BENCH_CACHE / f"banking77-{digest.hexdigest()[:16]}"
    version_dir, accuracy_file = home / "version", home / "accuracy.json"
    try:
        verify_version(version_dir)
        return version_dir, json.loads(accuracy_file.read_text(encoding="utf-8")), True
    except (CorruptVersionError, OSError, ValueError):
        shutil.rmtree(home, ignore_errors=True)
    train = read_banking77("train.csv")
    examples = [TrainingExample(i, text, intent) for i, (text, intent) in enumerate(train, start=1)]
    print(f"training the BANKING77 bot once ({len(examples)} messages, {BANKING77_CONFIG.epochs} epoch) "
          f"into {home}", file=sys.stderr, flush=True)
    train_bot_version(examples=examples, version_dir=version_dir, base_model=default_base_model_path(),
                      config=BANKING77_CONFIG)
    test = read_banking77("test.csv")
    texts, truth = [text for text, _ in test], [intent for _, intent in test]
    predictions = {}
    for backend, prefer_onnx in (("onnxruntime", True), ("torch", False)):
        model = LoadedBotModel.load(version_dir, prefer_onnx=prefer_onnx)
        predictions[backend] = [reading.intent for reading in model.infer(texts, k=1)]
    accuracy = {
        f"accuracy_{backend}": sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
        for backend, predicted in predictions.items()
    }
    accuracy["prediction_agreement"] = sum(
        a == b for a, b in zip(predictions["onnxruntime"], predictions["torch"], strict=True)) / len(truth)
    accuracy["n_test"] = len(truth)
    accuracy_file.write_text(json.dumps(accuracy, indent=2), encoding="utf-8")
    return version_dir, accuracy, False


def banking77_bot(version_dir: Path, origins: list[str]) -> Bot:
    """A tenant whose bot answers each BANKING77 intent with a canned answer, serving the cached version."""
    intents = json.loads((BANKING77 / "categories.json").read_text(encoding="utf-8"))
    tenant = Tenant.objects.create(name="Bench bank", slug="bench-bank")
    bot = create_bot(tenant=tenant, name="Bench bank assistant", allowed_origins=origins,
                     settings={"canned_answers": {intent: f"About {intent.replace('_', ' ')}." for intent in intents}})
    version = ModelVersion.objects.create(tenant=tenant, bot=bot, number=1, path=str(version_dir), mode="classifier")
    activate_version(tenant=tenant, bot=bot, version_id=version.pk)
    return Bot.objects.select_related("active_version").get(pk=bot.pk)


def bot_encoder_row(name: str, version_dir: str, texts: list[str]) -> tuple[dict, Callable[[], float]]:
    """The encoder figures of a version, and a way to measure its bare throughput again later."""
    model, cold_load_s = cold_load_seconds(version_dir)
    torch_model = load_as_served(version_dir, prefer_onnx=False)
    # Serving gives the encoder one core and leaves the other to the sockets and the database; the same
    # encoder on both cores says what the whole machine could encode, with nothing else to do.
    both_cores = LoadedBotModel.load(version_dir, prefer_onnx=settings.BOTS_SERVE_ONNX, onnx_threads=2)
    row = {
        "bot": name, "encoder": model.encoder_backend, "encoder_sent_per_s": encoder_throughput(model, texts),
        "two_threads_sent_per_s": encoder_throughput(both_cores, texts),
        "torch_sent_per_s": encoder_throughput(torch_model, texts), "cold_load_s": cold_load_s,
    }
    return row, lambda: encoder_throughput(model, texts)


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", port=8000, verbosity=0, stdout=open(os.devnull, "w"))
    demo = Bot.objects.select_related("active_version", "tenant").get(name="Demo Shop Assistant")
    if demo.active_version is None:
        raise SystemExit("the demo bot has no trained version")
    port = free_port()
    origins = [f"http://127.0.0.1:{port}"]
    Bot.objects.filter(pk=demo.pk).update(allowed_origins=origins)
    # The bench sends several times a trial's 25,000 answers: on the trial, the demo bot would soon
    # be refusing (and handing off) every message, which is the plans issue's behaviour, not serving.
    change_plan(tenant=demo.tenant, plan_code="enterprise")

    demo_encoder, demo_encoder_now = bot_encoder_row("demo", demo.active_version.path, DEMO_QUESTIONS)
    encoders = [demo_encoder]
    bank = bank_questions = accuracy = None
    if (BANKING77 / "train.csv").exists():
        version_dir, accuracy, cached = banking77_version()
        bank = banking77_bot(version_dir, origins)
        bank_questions = [text for text, _ in read_banking77("test.csv")]
        bank_encoder, bank_encoder_now = bot_encoder_row("banking77", str(version_dir), bank_questions)
        encoders.append({**bank_encoder, "cached": cached})

    rows = []
    for batching in (True, False):
        server = start_server(port, batching)
        try:
            rows.append({"bot": "demo", "micro_batching": batching,
                         **socket_figures(port, demo, DEMO_QUESTIONS, demo_encoder_now,
                                          single=batching)})
            if bank is not None and batching:
                rows.append({"bot": "banking77", "micro_batching": batching,
                             **socket_figures(port, bank, bank_questions, bank_encoder_now)})
        finally:
            server.terminate()
            server.wait(timeout=30)

    demo_row, unbatched = rows[0], rows[-1]
    result = {"bench": "answer", "encoder": encoders[0]["encoder"],
              "encoder_sent_per_s": round(encoders[0]["encoder_sent_per_s"], 1),
              "torch_encoder_sent_per_s": round(encoders[0]["torch_sent_per_s"], 1),
              "encoder_two_threads_sent_per_s": round(encoders[0]["two_threads_sent_per_s"], 1),
              "onnx_threads": settings.BOTS_ONNX_THREADS, **_socket_keys("", demo_row),
              "unbatched_answers_per_s": round(unbatched["sat_answers_per_s"], 1),
              "unbatched_concurrent_answers_per_s": round(unbatched["c_answers_per_s"], 1),
              "unbatched_concurrent_p95_ms": round(unbatched["c_p95_ms"], 1),
              "cold_load_s": round(encoders[0]["cold_load_s"], 2)}
    result["errors"] += unbatched["errors"]
    result["lost"] += unbatched["lost"]
    result["duplicated"] += unbatched["duplicated"]
    if bank is not None:
        bank_row, bank_encoder = rows[1], encoders[1]
        result.update({
            "banking77_encoder_sent_per_s": round(bank_encoder["encoder_sent_per_s"], 1),
            **_socket_keys("banking77_", bank_row),
            "banking77_cold_load_s": round(bank_encoder["cold_load_s"], 2),
            "banking77_accuracy_onnx": round(accuracy["accuracy_onnxruntime"], 4),
            "banking77_accuracy_torch": round(accuracy["accuracy_torch"], 4),
            "banking77_prediction_agreement": round(accuracy["prediction_agreement"], 4),
            "banking77_training": f"{BANKING77_CONFIG.epochs} epoch, cached under var/bench/",
        })
    else:
        result["banking77"] = f"skipped: no BANKING77 data at {BANKING77}"
    result.update(seconds=SECONDS, conversations=CONVERSATIONS, client_acks=CLIENT_ACKS)
    tables = [("Encoders (batch 64) and cold start", encoders), ("Answers over the websocket", rows)]
    if accuracy is not None:
        tables.append(("BANKING77 test accuracy of the served version", [accuracy]))
    print_report(tables, result)


def _socket_keys(prefix: str, row: dict) -> dict:
    return {
        f"{prefix}p50_ms": round(row["p50_ms"], 2), f"{prefix}p95_ms": round(row["p95_ms"], 2),
        f"{prefix}concurrent_baseline_sent_per_s": round(row["c_baseline_sent_per_s"], 1),
        f"{prefix}concurrent_offered_per_s": round(row["offered_per_s"], 1),
        f"{prefix}concurrent_answers_per_s": round(row["c_answers_per_s"], 1),
        f"{prefix}concurrent_p50_ms": round(row["c_p50_ms"], 1),
        f"{prefix}concurrent_p95_ms": round(row["c_p95_ms"], 1),
        f"{prefix}concurrent_p99_ms": round(row["c_p99_ms"], 1),
        f"{prefix}concurrent_fraction_of_encoder": round(row["c_answers_per_s"] / row["c_baseline_sent_per_s"], 3),
        f"{prefix}saturated_answers_per_s": round(row["sat_answers_per_s"], 1),
        f"{prefix}saturated_p95_ms": round(row["sat_p95_ms"], 1),
        f"{prefix}saturated_baseline_sent_per_s": round(row["sat_baseline_sent_per_s"], 1),
        f"{prefix}saturated_fraction_of_encoder": round(row["sat_answers_per_s"] / row["sat_baseline_sent_per_s"], 3),
        f"{prefix}errors": row["errors"], f"{prefix}lost": row["lost"], f"{prefix}duplicated": row["duplicated"],
    }


if __name__ == "__main__":
    main()

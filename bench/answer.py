"""Answer serving figures for two bots: the demo bot and a BANKING77-trained bot.

For each bot: cold load into the model cache, bare throughput of the encoder that serves it
(ONNX Runtime for versions that carry `encoder.onnx`, batch 64, on the serving thread count, which is
one core; on both cores and on torch alongside for reference), on the very texts the conversations
send (each made unique by a "#n" suffix), then over a real daphne process (on uvloop, as deployed)
and real websockets, each load read against the bare encoder measured again just before it:

- one conversation at a time: p50/p95;
- "concurrent": BENCH_CONVERSATIONS (200) conversations for BENCH_SECONDS (60) that together offer
  TARGET_FRACTION (60%) of the bare encoder's sentences/s, each on a fixed schedule with a random
  phase: answers/s, replies/s, p50/p95/p99, and every message sent by outcome;
- "saturated": the same conversations each sending again as soon as it is replied to: the most
  answers/s the server sustains. Their latency is conversations / replies per second (Little's
  law): 200 such conversations could only see p95 under 300 ms above 667 replies/s, more than the
  encoder itself can do on this machine, which is why the latency target is read at the offered load.

Every message sent is counted once, by what came of it (docs/widget-protocol.md): the bot's reply, an
`answer` frame of kind "answer" (answered) or "clarify" (clarified: a clarifying question), a `handoff`
frame (handed_off), a `notice` (while waiting for a person; the bench rates each handed-off conversation,
which closes it, so the next message goes to the bot again); no reply within REPLY_TIMEOUT_S (60 s,
timed_out: the conversation stops there, as a late reply could be read as the next one's); an `error`
frame or a failed socket (errors). The report checks sent == the sum of those. p50/p95/p99 are over every
message sent: a reply's latency is its own, a timed-out or errored message's is REPLY_TIMEOUT_S.
Answers/s counts answers only (not clarifying questions, not handoffs) that arrived within the load's
seconds; replies/s every reply of the bot. The JSON's sent/answered/clarified/handed_off/notices/
timed_out/errors/lost/duplicated count the whole run (both bots, every load, the warm-ups too);
banking77_* the BANKING77 bot's share.

The demo bot runs both again with micro-batching off. Each client acknowledges what it was shown,
as the widget does.

The embedded default runs it: a throwaway SQLite database, Channels' in-memory layer. The report
starts with every setting that departs from `make run`, with why: rate limits lifted (WIDGET_VISITOR_*,
WIDGET_BOT_*), CELERY_TASK_ALWAYS_EAGER, TRAINING_CONFIG_OVERRIDES, the demo tenant on the enterprise
plan (the trial's 25,000 answers would run out and every message be handed off), the BANKING77 tenant
without a subscription, and the BENCH_* values. The demo bot is the `make run` demo (demo tickets, a
2-epoch training run). The BANKING77 bot is trained once through the product pipeline on train.csv
(10,003 messages, 77 intents) with one epoch (the product default is 3: serving cost does not depend
on it, and one epoch trains in ~2 minutes on this CPU) and cached under var/bench/, keyed by the data,
the config and the version format; later runs reuse it. Its canned answer per intent is the intent's
name (BANKING77 has no agent replies); it answers test.csv messages. Its test accuracy through ONNX
Runtime and through torch is measured once per cached version. Without BANKING77 data (REPLYDESK_DATASETS)
the demo bot runs alone.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import json
import os
import shutil
import socket
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
# What this bench changes from `make run`'s environment: each is printed, with its reason, atop the report.
OVERRIDES = {
    "CELERY_TASK_ALWAYS_EAGER": "true", "WIDGET_VISITOR_RATE": "1000", "WIDGET_VISITOR_BURST": "1000",
    "WIDGET_BOT_RATE": "100000", "WIDGET_BOT_BURST": "100000", "TRAINING_CONFIG_OVERRIDES": json.dumps({"epochs": 2}),
}
REMOVED = {name: os.environ.pop(name) for name in ("DATABASE_URL", "REDIS_URL") if os.environ.get(name)}
os.environ.update({
    "REPLYDESK_VAR_DIR": str(VAR), "DJANGO_SETTINGS_MODULE": "config.settings", "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **OVERRIDES,
})
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import uvloop  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench._load import (  # noqa: E402
    OUTCOMES,
    REPLIES,
    REPLY_TIMEOUT_S,
    load_figures,
    lost_messages,
    percentile,
    question_text,
    run_load,
)
from bench._report import Setting, accounting, print_report  # noqa: E402
from billing.services.subscriptions import change_plan  # noqa: E402
from bots.models import Bot  # noqa: E402
from bots.services import create_bot, update_bot  # noqa: E402
from demo.services import demo_bot  # noqa: E402
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


def outcome_row(bot: str, tenant_id: int, batching: bool, load_name: str, load: dict) -> dict:
    """Every message a load sent, by outcome; `lost` and `duplicated` read from the database and the frames."""
    replies = sum(load[outcome] for outcome in REPLIES)
    return {"bot": bot, "micro_batching": batching, "load": load_name, "sent": load["sent"],
            **{outcome: load[outcome] for outcome in OUTCOMES},
            "failed_conversations": load["failed_conversations"], "failure": load["failure"],
            "duplicated": load["duplicated"],
            "lost": lost_messages(tenant_id, load["conversations"], load["sent"], load["errors"], replies)}


def socket_figures(port: int, name: str, bot: Bot, questions: list[str], encoder_now: Callable[[], float],
                   outcomes: list, batching: bool, single: bool = True) -> dict:
    """One conversation at a time (optional), then CONVERSATIONS at once offering TARGET_FRACTION of the
    encoder's throughput, then the same conversations saturating the server, against the running server.
    Each load's messages by outcome are appended to `outcomes`, the warm-up's too.

    The bare encoder is measured again just before each of the two loads (`encoder_now`, the server idle),
    and each load is read against its own baseline: this shared machine's speed drifts by a third over
    the minutes a run takes, and a baseline from its start would compare a fast minute with a slow one."""
    origin = f"http://127.0.0.1:{port}"
    url = f"ws://127.0.0.1:{port}/ws/widget/{bot.public_key}/"
    # The clients run on uvloop too: on these 2 cores they compete with the server for CPU.
    def load(conversations: int, seconds: float, rate: float | None = None) -> dict:
        return uvloop.run(run_load([url], origin, questions, conversations, seconds, rate=rate, acks=CLIENT_ACKS))

    loads = {"warm-up": load(1, 0.5)}  # the server loads the model
    row: dict = {"conversations": CONVERSATIONS}
    if single:
        alone = loads["one at a time"] = load(1, SINGLE_SECONDS)
        row.update(p50_ms=percentile(alone["latencies"], 50), p95_ms=percentile(alone["latencies"], 95))
    c_baseline = encoder_now()
    offered = TARGET_FRACTION * c_baseline
    target = loads["concurrent"] = load(CONVERSATIONS, SECONDS, rate=offered)
    sat_baseline = encoder_now()
    saturated = loads["saturated"] = load(CONVERSATIONS, SECONDS)
    row.update(c_baseline_sent_per_s=c_baseline, offered_per_s=offered, **load_figures("c_", target),
               sat_baseline_sent_per_s=sat_baseline, **load_figures("sat_", saturated))
    measured = [outcome_row(name, bot.tenant_id, batching, load_name, load) for load_name, load in loads.items()]
    outcomes.extend(measured)
    for key in ("timed_out", "errors", "lost", "duplicated"):  # of the measured loads; the warm-up's apart
        row[key] = sum(line[key] for line in measured if line["load"] != "warm-up")
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
    bot = create_bot(tenant=tenant, name="Bench bank assistant", allowed_origins=origins)
    version = ModelVersion.objects.create(tenant=tenant, bot=bot, number=1, path=str(version_dir), mode="classifier")
    activate_version(tenant=tenant, bot=bot, version_id=version.pk)
    # Canned answers name intents the bot knows: set once its version is active.
    update_bot(bot=Bot.objects.for_tenant(tenant).get(pk=bot.pk),
               settings={"canned_answers": {intent: f"About {intent.replace('_', ' ')}." for intent in intents}})
    return Bot.objects.for_tenant(tenant).select_related("active_version").get(pk=bot.pk)


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
    seeded = demo_bot()
    demo = Bot.objects.for_tenant(seeded.tenant_id).select_related("active_version", "tenant").get(pk=seeded.pk)
    if demo.active_version is None:
        raise SystemExit("the demo bot has no trained version")
    port = free_port()
    origins = [f"http://127.0.0.1:{port}"]
    Bot.objects.for_tenant(demo.tenant).filter(pk=demo.pk).update(allowed_origins=origins)
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

    rows, outcomes = [], []
    for batching in (True, False):
        server = start_server(port, batching)
        try:
            rows.append({"bot": "demo", "micro_batching": batching,
                         **socket_figures(port, "demo", demo, DEMO_QUESTIONS, demo_encoder_now, outcomes,
                                          batching, single=batching)})
            if bank is not None and batching:
                rows.append({"bot": "banking77", "micro_batching": batching,
                             **socket_figures(port, "banking77", bank, bank_questions, bank_encoder_now, outcomes,
                                              batching)})
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
              "unbatched_concurrent_p95_ms": _round(unbatched["c_p95_ms"], 1),
              "cold_load_s": round(encoders[0]["cold_load_s"], 2)}
    # Every message the run sent (both bots, every load, the warm-ups too), by outcome.
    totals = {key: sum(line[key] for line in outcomes)
              for key in ("sent", *OUTCOMES, "failed_conversations", "lost", "duplicated")}
    accounted, accounted_line = accounting("every load of the run", totals["sent"],
                                           {outcome: totals[outcome] for outcome in OUTCOMES})
    result.update(totals, accounted_for=accounted, reply_timeout_s=REPLY_TIMEOUT_S)
    if bank is not None:
        bank_row, bank_encoder = rows[1], encoders[1]
        result.update({
            "banking77_encoder_sent_per_s": round(bank_encoder["encoder_sent_per_s"], 1),
            **_socket_keys("banking77_", bank_row),
            **{f"banking77_{key}": sum(line[key] for line in outcomes if line["bot"] == "banking77")
               for key in ("sent", *OUTCOMES, "lost", "duplicated")},
            "banking77_cold_load_s": round(bank_encoder["cold_load_s"], 2),
            "banking77_accuracy_onnx": round(accuracy["accuracy_onnxruntime"], 4),
            "banking77_accuracy_torch": round(accuracy["accuracy_torch"], 4),
            "banking77_prediction_agreement": round(accuracy["prediction_agreement"], 4),
            "banking77_training": f"{BANKING77_CONFIG.epochs} epoch, cached under var/bench/",
        })
    else:
        result["banking77"] = f"skipped: no BANKING77 data at {BANKING77}"
    notes = [accounted_line]
    for line in outcomes:  # a conversation that failed (to connect, or on a socket error) is said, with why
        failure = line.pop("failure")
        if failure is not None:
            notes.append(f"{line['bot']}, micro_batching {line['micro_batching']}, {line['load']}: "
                         f"{line['failed_conversations']} conversation(s) failed, the first with {failure}")
    non_default = non_default_settings(port, bank is not None)
    result.update(seconds=SECONDS, conversations=CONVERSATIONS, client_acks=CLIENT_ACKS,
                  non_default_settings={setting.name: setting.value for setting in non_default})
    tables = [
        ("Encoders (batch 64) and cold start", encoders),
        (f"Answers over the websocket: answers/s counts answers only (not clarifying questions, not handoffs), "
         f"replies/s every reply of the bot; p50/p95/p99 over every message sent, a timeout or an error at "
         f"{REPLY_TIMEOUT_S:g} s", rows),
        (f"Every message sent, by outcome (no reply within {REPLY_TIMEOUT_S:g} s: timed_out; an error frame or a "
         f"failed socket: errors)", outcomes),
    ]
    if accuracy is not None:
        tables.append(("BANKING77 test accuracy of the served version", [accuracy]))
    print_report(tables, result, settings=non_default, notes=notes)


def non_default_settings(port: int, banking77: bool) -> list[Setting]:
    """Everything this run does that `make run` would not, with why."""
    rows = [
        Setting("CELERY_TASK_ALWAYS_EAGER", OVERRIDES["CELERY_TASK_ALWAYS_EAGER"], "false",
                "no worker runs here: the demo bot's first training run (queued by seed_demo) runs inline"),
        Setting("TRAINING_CONFIG_OVERRIDES", OVERRIDES["TRAINING_CONFIG_OVERRIDES"], "{} (3 epochs)",
                "the demo bot trains 2 epochs, not 3: quicker, and serving cost does not depend on it"),
        Setting("WIDGET_VISITOR_RATE", OVERRIDES["WIDGET_VISITOR_RATE"], "1.0",
                "a bench conversation asks again as soon as answered, far above a visitor's 1 message/s: the "
                "visitor's bucket would refuse it"),
        Setting("WIDGET_VISITOR_BURST", OVERRIDES["WIDGET_VISITOR_BURST"], "8",
                "as WIDGET_VISITOR_RATE"),
        Setting("WIDGET_BOT_RATE", OVERRIDES["WIDGET_BOT_RATE"], "200.0",
                "the loads ask a bot more than its 200 messages/s: the bot's bucket would refuse them, and the "
                "bench would measure refusals, not serving"),
        Setting("WIDGET_BOT_BURST", OVERRIDES["WIDGET_BOT_BURST"], "400",
                "as WIDGET_BOT_RATE"),
        Setting("demo tenant's plan", "enterprise", "trial",
                "the run sends several times the trial's 25,000 answers: over its quota the trial refuses "
                "(hands off) every message"),
        Setting("demo bot's allowed_origins", f"http://127.0.0.1:{port}", "127.0.0.1:8000, localhost:8000",
                "the bench's server listens on a free port"),
        Setting("BOTS_MICRO_BATCHING", "false (second server only)", "true",
                "the baseline: the demo bot's rows with micro_batching False"),
        Setting("REPLYDESK_VAR_DIR", str(VAR), "var", "a throwaway SQLite database and demo version, removed at exit"),
    ]
    rows.extend(Setting(name, "unset", "set in this environment", "the embedded default (SQLite, in-memory layer)")
                for name in REMOVED)
    if banking77:
        rows.extend([
            Setting("banking77 tenant's plan", "none (no subscription)", "trial (a sign-up starts one)",
                    "created directly: not metered, no quota"),
            Setting("banking77 training", json.dumps({"epochs": BANKING77_CONFIG.epochs,
                                                      "heldout_fraction": BANKING77_CONFIG.heldout_fraction}),
                    json.dumps({"epochs": TrainingConfig.epochs, "heldout_fraction": TrainingConfig.heldout_fraction}),
                    "trained once through ml.pipeline (no worker), cached under var/bench/; serving cost does not "
                    "depend on the epochs"),
        ])
    rows.extend(Setting(name, os.environ.get(name, default), default,
                        "set" if name in os.environ else "the bench's default") for name, default in (
        ("BENCH_SECONDS", "60"), ("BENCH_CONVERSATIONS", "200"), ("BENCH_ACKS", "1"),
        ("REPLYDESK_DATASETS", str(ROOT.parent / "shared" / "datasets"))))
    return rows


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _socket_keys(prefix: str, row: dict) -> dict:
    return {
        f"{prefix}p50_ms": _round(row["p50_ms"], 2), f"{prefix}p95_ms": _round(row["p95_ms"], 2),
        f"{prefix}concurrent_baseline_sent_per_s": round(row["c_baseline_sent_per_s"], 1),
        f"{prefix}concurrent_offered_per_s": round(row["offered_per_s"], 1),
        f"{prefix}concurrent_answers_per_s": round(row["c_answers_per_s"], 1),
        f"{prefix}concurrent_replies_per_s": round(row["c_replies_per_s"], 1),
        f"{prefix}concurrent_p50_ms": _round(row["c_p50_ms"], 1),
        f"{prefix}concurrent_p95_ms": _round(row["c_p95_ms"], 1),
        f"{prefix}concurrent_p99_ms": _round(row["c_p99_ms"], 1),
        f"{prefix}concurrent_fraction_of_encoder": round(row["c_answers_per_s"] / row["c_baseline_sent_per_s"], 3),
        f"{prefix}saturated_answers_per_s": round(row["sat_answers_per_s"], 1),
        f"{prefix}saturated_replies_per_s": round(row["sat_replies_per_s"], 1),
        f"{prefix}saturated_p95_ms": _round(row["sat_p95_ms"], 1),
        f"{prefix}saturated_baseline_sent_per_s": round(row["sat_baseline_sent_per_s"], 1),
        f"{prefix}saturated_fraction_of_encoder": round(row["sat_answers_per_s"] / row["sat_baseline_sent_per_s"], 3),
    }


if __name__ == "__main__":
    main()

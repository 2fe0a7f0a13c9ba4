"""Answer serving figures: encoder throughput, websocket latency, 200 concurrent conversations, cold load.

Runs a real daphne process on a throwaway SQLite database with the demo bot (demo tickets,
a short training run). BENCH_SECONDS (default 60) and BENCH_CONVERSATIONS (default 200) scale it.
The BANKING77 bot needs the BANKING77 CSV at BENCH_BANKING77_CSV (text,category); without it,
that row is skipped and says so.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(tempfile.mkdtemp(prefix="replydesk-bench-answer-"))
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

import websockets  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench._report import print_report  # noqa: E402
from bots.ml.model_cache import ModelCache  # noqa: E402
from bots.ml.serving import LoadedBotModel  # noqa: E402
from bots.models import Bot, Message  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
CONVERSATIONS = int(os.environ.get("BENCH_CONVERSATIONS", "200"))
QUESTIONS = [
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
    process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
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


def encoder_throughput(model: LoadedBotModel, texts: list[str]) -> float:
    batch = (texts * (64 // len(texts) + 1))[:64]
    model.embed_and_score(batch)
    started, rounds = time.perf_counter(), 0
    while time.perf_counter() - started < 10:
        model.embed_and_score(batch)
        rounds += 1
    return rounds * 64 / (time.perf_counter() - started)


async def conversation(url: str, origin: str, until: float, latencies: list, stats: dict, limit: int | None = None):
    async with websockets.connect(url, origin=origin, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        welcome = json.loads(await ws.recv())
        stats["conversations"].append(welcome["conversation_id"])
        seen: set[int] = set()
        sent = 0
        while time.monotonic() < until and (limit is None or sent < limit):
            text = QUESTIONS[sent % len(QUESTIONS)] + f" #{sent}"
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
                    if frame["type"] == "handoff":  # reopen so the bot keeps answering
                        await ws.send(json.dumps({"type": "csat", "rating": 3}))
                    latencies.append((time.perf_counter() - started) * 1000)
                    stats["answers"] += 1
                    break
        stats["sent"] += sent


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def run_load(url: str, origin: str, conversations: int, seconds: float) -> dict:
    stats = {"answers": 0, "errors": 0, "duplicated": 0, "sent": 0, "conversations": []}
    latencies: list[float] = []
    until = time.monotonic() + seconds
    started = time.perf_counter()
    results = await asyncio.gather(*[conversation(url, origin, until, latencies, stats)
                                     for _ in range(conversations)], return_exceptions=True)
    elapsed = time.perf_counter() - started
    stats["errors"] += sum(isinstance(r, Exception) for r in results)
    return {"latencies": latencies, "elapsed": elapsed, **stats}


def lost_messages(conversation_ids: list[int], sent: int, refused: int, answers: int) -> int:
    """Sent and not refused but never stored, plus stored but never answered."""
    visitor = Message.objects.filter(conversation_id__in=conversation_ids, sender="visitor").count()
    return max(0, sent - refused - visitor) + max(0, visitor - answers)


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", port=8000, verbosity=0, stdout=open(os.devnull, "w"))
    bot = Bot.objects.select_related("active_version").get(name="Demo Shop Assistant")
    if bot.active_version is None:
        raise SystemExit("the demo bot has no trained version")
    version_dir = bot.active_version.path

    cache = ModelCache(LoadedBotModel.load, max_models=1, max_bytes=2**40, size_of=lambda m: m.memory_bytes)
    started = time.perf_counter()
    model = cache.get(version_dir)
    cold_load_s = time.perf_counter() - started
    encoder_sent_per_s = encoder_throughput(model, QUESTIONS)

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    Bot.objects.filter(pk=bot.pk).update(allowed_origins=[origin])
    url = f"ws://127.0.0.1:{port}/ws/widget/{bot.public_key}/"
    rows, result = [], {"bench": "answer"}
    for batching in (True, False):
        server = start_server(port, batching)
        try:
            # warm the server's model cache, then one conversation at a time
            asyncio.run(run_load(url, origin, 1, 0.5))
            single = asyncio.run(run_load(url, origin, 1, min(20.0, SECONDS / 3)))
            load = asyncio.run(run_load(url, origin, CONVERSATIONS, SECONDS))
        finally:
            server.terminate()
            server.wait(timeout=30)
        lost = lost_messages(load["conversations"], load["sent"], load["errors"], load["answers"])
        row = {
            "micro_batching": batching, "p50_ms": percentile(single["latencies"], 50),
            "p95_ms": percentile(single["latencies"], 95), "conversations": CONVERSATIONS,
            "answers_per_s": load["answers"] / load["elapsed"], "c_p50_ms": percentile(load["latencies"], 50),
            "c_p95_ms": percentile(load["latencies"], 95), "c_p99_ms": percentile(load["latencies"], 99),
            "errors": load["errors"], "lost": lost, "duplicated": load["duplicated"],
        }
        rows.append(row)
        if batching:
            result.update({
                "encoder_sent_per_s": round(encoder_sent_per_s, 1), "p50_ms": round(row["p50_ms"], 2),
                "p95_ms": round(row["p95_ms"], 2), "concurrent_answers_per_s": round(row["answers_per_s"], 1),
                "concurrent_p50_ms": round(row["c_p50_ms"], 1), "concurrent_p95_ms": round(row["c_p95_ms"], 1),
                "concurrent_p99_ms": round(row["c_p99_ms"], 1), "errors": row["errors"], "lost": lost,
                "duplicated": row["duplicated"],
            })
        else:
            result["unbatched_answers_per_s"] = round(row["answers_per_s"], 1)
            result["unbatched_p95_ms"] = round(row["c_p95_ms"], 1)
    result["cold_load_s"] = round(cold_load_s, 2)
    result["fraction_of_encoder"] = round(result["concurrent_answers_per_s"] / encoder_sent_per_s, 3)
    result["banking77"] = "skipped: BANKING77 is not shipped with the project"
    result["seconds"] = SECONDS
    print_report([
        ("Encoder and cold start", [{"bot": "demo", "encoder_sent_per_s (batch 64)": encoder_sent_per_s,
                                     "cold_load_s": cold_load_s}]),
        ("Answers over the websocket", rows),
    ], result)


if __name__ == "__main__":
    main()

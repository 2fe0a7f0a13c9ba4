"""Serving bot models in a web process: the LRU model cache plus a micro-batcher per model.

`submit(version_dir, text)` returns a Future of one Inference and never blocks the caller:
a cold model is loaded on a worker thread, a warm one answers within one batch window.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ml.micro_batching import MicroBatcher
from ml.model_cache import CacheStats, ModelCache
from ml.serving import Inference, LoadedBotModel


@dataclass
class ServedModel:
    model: LoadedBotModel
    batcher: MicroBatcher | None

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close(wait=False)


@dataclass(frozen=True)
class ServerSettings:
    max_models: int = 8
    max_bytes: int = 2 * 2**30
    batching: bool = True
    max_batch: int = 64
    max_wait_s: float = 0.004
    top_k: int = 5
    threads: int = 4
    # Versions with an exported graph run on ONNX Runtime with this many intra-op threads each.
    prefer_onnx: bool = True
    onnx_threads: int = 1
    # A version that failed to load (damaged directory) is not tried again for this long.
    retry_failed_load_after_s: float = 10.0


class ModelServer:
    """One per process; thread-safe."""

    def __init__(self, settings: ServerSettings = ServerSettings(),
                 loader: Callable[[Path], LoadedBotModel] | None = None):
        self.settings = settings
        self._loader = loader or partial(LoadedBotModel.load, prefer_onnx=settings.prefer_onnx,
                                         onnx_threads=settings.onnx_threads)
        self._executor = ThreadPoolExecutor(max_workers=settings.threads, thread_name_prefix="bot-inference")
        self.cache: ModelCache[ServedModel] = ModelCache(
            self._load, max_models=settings.max_models, max_bytes=settings.max_bytes,
            size_of=lambda served: served.model.memory_bytes, on_evict=lambda _key, served: served.close(),
            failure_ttl_s=settings.retry_failed_load_after_s,
        )

    def _load(self, key: Hashable) -> ServedModel:
        model = self._loader(Path(str(key)))
        batcher = None
        if self.settings.batching:
            k = self.settings.top_k
            batcher = MicroBatcher(
                lambda texts: model.infer(texts, k), max_batch=self.settings.max_batch,
                max_wait_s=self.settings.max_wait_s, name=f"batcher:{Path(str(key)).name}",
            )
        return ServedModel(model, batcher)

    def load(self, version_dir: str | Path) -> LoadedBotModel:
        """The loaded model for a version directory (blocking on a cold load)."""
        return self.cache.get(str(version_dir)).model

    def submit(self, version_dir: str | Path, text: str) -> Future:
        """A Future of the Inference for `text` with the version at `version_dir`."""
        served = self.cache.peek(str(version_dir))
        if served is None:
            return self._executor.submit(self._infer_blocking, str(version_dir), text)
        return self._submit_to(served, text)

    def _submit_to(self, served: ServedModel, text: str) -> Future:
        if served.batcher is not None:
            return served.batcher.submit(text)
        return self._executor.submit(lambda: served.model.infer([text], self.settings.top_k)[0])

    def _infer_blocking(self, key: str, text: str) -> Inference:
        served = self.cache.get(key)
        if served.batcher is not None:
            return served.batcher.submit(text).result()
        return served.model.infer([text], self.settings.top_k)[0]

    def stats(self) -> CacheStats:
        return self.cache.stats()

    def close(self) -> None:
        self.cache.clear()
        self._executor.shutdown(wait=False)

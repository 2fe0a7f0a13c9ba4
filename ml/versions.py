"""Immutable model-version directories: written atomically, verified on load.

Layout of `<ARTIFACTS_ROOT>/<tenant>/<bot>/<version>/`:
    encoder/            fine-tuned transformer (model.safetensors, config, tokenizer files)
    encoder.onnx        the same encoder exported for ONNX Runtime (fp32), served when present;
                        versions written before it existed are served with torch
    head.safetensors    intent head (classifier versions only)
    labels.json         intent names, in head-row order
    index.faiss         FAISS index of ticket embeddings
    ticket_ids.npy      ticket id of each index row
    oos.safetensors     the out-of-scope score's neighbour bank (classifier versions written since it existed)
    version.json        serving settings: mode, temperature, threshold, similarity floor, out-of-scope score
    metrics.json        held-out evaluation
    ticket_words.json   the training tickets' words and counts, that misspellings are corrected to (ml.spelling;
                        versions written since it existed)
    manifest.json       sha256 of every other file
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from ml.encoder import OnnxSentenceEncoder, SentenceEncoder
from ml.index import INDEX_FILE, TICKET_IDS_FILE, TicketIndex, load_index, save_index
from ml.oos import NeighbourBank

FORMAT_VERSION = 1
ENCODER_DIR = "encoder"
ENCODER_ONNX_FILE = "encoder.onnx"
HEAD_FILE = "head.safetensors"
BANK_FILE = "oos.safetensors"
LABELS_FILE = "labels.json"
SETTINGS_FILE = "version.json"
METRICS_FILE = "metrics.json"
MANIFEST_FILE = "manifest.json"
TICKET_WORDS_FILE = "ticket_words.json"
CLASSIFIER = "classifier"
RETRIEVAL_ONLY = "retrieval_only"


class CorruptVersionError(Exception):
    """A version directory is missing, incomplete, tampered with or unreadable."""


class VersionExistsError(FileExistsError):
    """Versions are immutable: the target directory already exists."""


@dataclass(frozen=True)
class VersionSettings:
    """What serving needs besides the weights."""

    mode: str
    temperature: float
    threshold: float
    similarity_floor: float
    max_length: int
    format_version: int = FORMAT_VERSION
    # ml.oos.ScoreModel.as_dict(); None: a version from before the score (confidence and similarity floor)
    oos_score: dict | None = None


@dataclass(frozen=True)
class BotVersion:
    """Everything one version holds, in memory (a loaded version's encoder may be the ONNX one)."""

    encoder: SentenceEncoder | OnnxSentenceEncoder
    labels: list[str]
    head_weight: np.ndarray | None
    head_bias: np.ndarray | None
    index: TicketIndex
    settings: VersionSettings
    metrics: dict
    bank: NeighbourBank | None = None
    # ml.spelling.Speller.words: what visitors' misspellings are corrected to (None: a version from before it)
    ticket_words: dict[str, int] | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")


def write_version(version_dir: Path, version: BotVersion) -> Path:
    """Write `version` to `version_dir` all at once: a reader sees the whole version or none.

    Everything goes into a hidden sibling, is fsynced, then renamed into place; a crash
    leaves at most a stray temporary directory and never a half-written version.
    """
    version_dir = Path(version_dir)
    if version_dir.exists():
        raise VersionExistsError(f"version directory already exists: {version_dir}")
    version_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = version_dir.parent / f".{version_dir.name}.tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        version.encoder.save(staging / ENCODER_DIR)
        version.encoder.export_onnx(staging / ENCODER_ONNX_FILE)
        if version.settings.mode == CLASSIFIER:
            save_file(
                {"weight": np.ascontiguousarray(version.head_weight, dtype=np.float32),
                 "bias": np.ascontiguousarray(version.head_bias, dtype=np.float32)},
                str(staging / HEAD_FILE),
            )
        if version.bank is not None:
            bank = version.bank
            save_file({"embeddings": bank.embeddings, "labels": bank.labels, "class_means": bank.class_means,
                       "precision": bank.precision}, str(staging / BANK_FILE))
        _write_json(staging / LABELS_FILE, list(version.labels))
        save_index(version.index, staging)
        _write_json(staging / SETTINGS_FILE, asdict(version.settings))
        _write_json(staging / METRICS_FILE, version.metrics)
        if version.ticket_words is not None:
            _write_json(staging / TICKET_WORDS_FILE, version.ticket_words)
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        manifest = {
            "format_version": FORMAT_VERSION,
            "files": {p.relative_to(staging).as_posix(): _sha256(p) for p in files},
        }
        _write_json(staging / MANIFEST_FILE, manifest)
        for path in [*files, staging / MANIFEST_FILE]:
            _fsync_file(path)
        for directory in sorted({p.parent for p in files} | {staging}, key=lambda d: len(d.parts), reverse=True):
            _fsync_dir(directory)
        os.rename(staging, version_dir)
        _fsync_dir(version_dir.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return version_dir


def verify_version(version_dir: Path) -> dict:
    """Check the manifest against the files on disk; return the manifest."""
    version_dir = Path(version_dir)
    if not version_dir.is_dir():
        raise CorruptVersionError(f"version directory does not exist: {version_dir}")
    manifest_path = version_dir / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CorruptVersionError(f"unreadable manifest {manifest_path}: {error}") from error
    required = {LABELS_FILE, INDEX_FILE, TICKET_IDS_FILE, SETTINGS_FILE, METRICS_FILE, f"{ENCODER_DIR}/config.json"}
    missing_from_manifest = required - set(files)
    if missing_from_manifest:
        raise CorruptVersionError(f"manifest of {version_dir} does not list {sorted(missing_from_manifest)}")
    for relative, expected in files.items():
        path = version_dir / relative
        if not path.is_file():
            raise CorruptVersionError(f"missing file in version {version_dir}: {relative}")
        if _sha256(path) != expected:
            raise CorruptVersionError(f"hash mismatch in version {version_dir}: {relative} was modified")
    return manifest


def load_version(version_dir: Path, *, prefer_onnx: bool = True, onnx_threads: int = 1) -> BotVersion:
    """Verify the manifest, then load weights, head, labels, index, settings and metrics.

    The encoder is the ONNX Runtime one when the version has `encoder.onnx` and `prefer_onnx`
    (with `onnx_threads` intra-op threads), else the torch one.
    """
    version_dir = Path(version_dir)
    manifest = verify_version(version_dir)
    try:
        settings = VersionSettings(**json.loads((version_dir / SETTINGS_FILE).read_text(encoding="utf-8")))
        labels = json.loads((version_dir / LABELS_FILE).read_text(encoding="utf-8"))
        metrics = json.loads((version_dir / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError) as error:
        raise CorruptVersionError(f"unreadable settings in {version_dir}: {error}") from error
    head_weight = head_bias = None
    if settings.mode == CLASSIFIER:
        if HEAD_FILE not in manifest["files"]:
            raise CorruptVersionError(f"classifier version {version_dir} has no {HEAD_FILE}")
        try:
            head = load_file(str(version_dir / HEAD_FILE))
            head_weight, head_bias = head["weight"], head["bias"]
        except Exception as error:
            raise CorruptVersionError(f"unreadable intent head in {version_dir}: {error}") from error
        if head_weight.shape[0] != len(labels):
            raise CorruptVersionError(f"head has {head_weight.shape[0]} rows but {len(labels)} labels")
    try:
        if prefer_onnx and ENCODER_ONNX_FILE in manifest["files"]:
            encoder = OnnxSentenceEncoder.load(version_dir / ENCODER_ONNX_FILE, version_dir / ENCODER_DIR,
                                               max_length=settings.max_length, threads=onnx_threads)
        else:
            encoder = SentenceEncoder.load(version_dir / ENCODER_DIR, max_length=settings.max_length)
    except Exception as error:
        raise CorruptVersionError(f"unreadable encoder weights in {version_dir}: {error}") from error
    try:
        index = load_index(version_dir)
    except Exception as error:
        raise CorruptVersionError(f"unreadable index in {version_dir}: {error}") from error
    return BotVersion(
        encoder=encoder, labels=labels, head_weight=head_weight, head_bias=head_bias,
        index=index, settings=settings, metrics=metrics, bank=_load_bank(version_dir, settings, manifest),
        ticket_words=_load_ticket_words(version_dir, manifest),
    )


def _load_ticket_words(version_dir: Path, manifest: dict) -> dict[str, int] | None:
    if TICKET_WORDS_FILE not in manifest["files"]:
        return None
    try:
        words = json.loads((version_dir / TICKET_WORDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CorruptVersionError(f"unreadable ticket words in {version_dir}: {error}") from error
    if not isinstance(words, dict):
        raise CorruptVersionError(f"ticket words in {version_dir} are not a word -> count object")
    return words


def _load_bank(version_dir: Path, settings: VersionSettings, manifest: dict) -> NeighbourBank | None:
    if settings.oos_score is None:
        return None
    if BANK_FILE not in manifest["files"]:
        raise CorruptVersionError(f"version {version_dir} has an out-of-scope score but no {BANK_FILE}")
    try:
        return NeighbourBank(**load_file(str(version_dir / BANK_FILE)))
    except Exception as error:
        raise CorruptVersionError(f"unreadable neighbour bank in {version_dir}: {error}") from error

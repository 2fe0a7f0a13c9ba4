"""Version directories: immutable, verified on load, written all or nothing."""

from __future__ import annotations

import json

import pytest

from ml.serving import LoadedBotModel
from ml.spelling import ticket_words
from ml.versions import (
    ENCODER_ONNX_FILE,
    MANIFEST_FILE,
    TICKET_WORDS_FILE,
    CorruptVersionError,
    _sha256,
    load_version,
    write_version,
)

from .conftest import tiny_examples


def test_loading_an_intact_version_returns_its_parts(trained_version):
    outcome, _ = trained_version
    version = load_version(outcome.version_dir)
    assert version.settings.mode == "classifier"
    assert version.head_weight.shape == (len(version.labels), version.encoder.dimension)
    assert sorted(version.index.ticket_ids.tolist()) == sorted(outcome.trained_ticket_ids + outcome.heldout_ticket_ids)
    assert version.metrics == outcome.metrics


def test_tampered_weights_make_load_version_raise_corrupt_version_error(version_copy):
    weights = version_copy / "encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptVersionError, match="hash mismatch.*encoder/model.safetensors"):
        load_version(version_copy)


def test_a_written_version_holds_the_onnx_encoder_under_its_manifest(trained_version):
    outcome, _ = trained_version
    manifest = json.loads((outcome.version_dir / MANIFEST_FILE).read_text())
    assert manifest["files"][ENCODER_ONNX_FILE] == _sha256(outcome.version_dir / ENCODER_ONNX_FILE)
    assert load_version(outcome.version_dir).encoder.backend == "onnxruntime"
    assert load_version(outcome.version_dir, prefer_onnx=False).encoder.backend == "torch"


def test_a_tampered_onnx_encoder_makes_load_version_raise_corrupt_version_error(version_copy):
    graph = version_copy / ENCODER_ONNX_FILE
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF
    graph.write_bytes(bytes(data))
    with pytest.raises(CorruptVersionError, match="hash mismatch.*encoder.onnx"):
        load_version(version_copy)


def test_missing_file_makes_load_version_raise_corrupt_version_error(version_copy):
    (version_copy / "index.faiss").unlink()
    with pytest.raises(CorruptVersionError, match="missing file.*index.faiss"):
        load_version(version_copy)


def test_missing_directory_makes_load_version_raise_corrupt_version_error(tmp_path):
    with pytest.raises(CorruptVersionError, match="does not exist"):
        load_version(tmp_path / "never-written")


def test_unreadable_weights_with_a_matching_hash_are_reported_as_corrupt(version_copy):
    head = version_copy / "head.safetensors"
    head.write_bytes(b"not a safetensors file")
    manifest = json.loads((version_copy / MANIFEST_FILE).read_text())
    manifest["files"]["head.safetensors"] = _sha256(head)
    (version_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CorruptVersionError, match="unreadable intent head"):
        load_version(version_copy)


def test_a_failed_write_leaves_neither_the_version_nor_a_temporary_directory(trained_version, tmp_path):
    outcome, _ = trained_version
    version = load_version(outcome.version_dir, prefer_onnx=False)
    broken = version.__class__(**{**version.__dict__, "metrics": {"not json": object()}})
    with pytest.raises(TypeError):
        write_version(tmp_path / "v2", broken)
    assert list(tmp_path.iterdir()) == []


def test_a_version_keeps_the_words_of_the_tickets_it_was_trained_on(trained_version):
    outcome, _ = trained_version
    trained = set(outcome.trained_ticket_ids)
    words = load_version(outcome.version_dir).ticket_words
    assert words == ticket_words(e.text for e in tiny_examples() if e.ticket_id in trained)


def test_a_version_from_before_ticket_words_reads_messages_as_typed(version_copy):
    (version_copy / TICKET_WORDS_FILE).unlink()
    manifest = json.loads((version_copy / MANIFEST_FILE).read_text())
    del manifest["files"][TICKET_WORDS_FILE]
    (version_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert load_version(version_copy).ticket_words is None
    misspelt, written = LoadedBotModel.load(version_copy).infer(["cancle my subscripton", "cancel my subscription"])
    assert misspelt.score != written.score


def test_unreadable_ticket_words_with_a_matching_hash_are_reported_as_corrupt(version_copy):
    words = version_copy / TICKET_WORDS_FILE
    words.write_text("[not, json")
    manifest = json.loads((version_copy / MANIFEST_FILE).read_text())
    manifest["files"][TICKET_WORDS_FILE] = _sha256(words)
    (version_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(CorruptVersionError, match="unreadable ticket words"):
        load_version(version_copy)

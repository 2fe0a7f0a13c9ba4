"""LoadedBotModel.infer: calibrated intents, nearest tickets and the out-of-scope rule."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ml.serving import LoadedBotModel
from ml.versions import ENCODER_ONNX_FILE, MANIFEST_FILE

from .conftest import tiny_examples


@pytest.fixture(scope="module")
def model(trained_version) -> LoadedBotModel:
    outcome, _ = trained_version
    return LoadedBotModel.load(outcome.version_dir)


def test_infer_gives_calibrated_top_intents_and_nearest_tickets(model, trained_version):
    outcome, _ = trained_version
    [answer] = model.infer(["track my delivery"], k=4)
    assert answer.intent == "shipping"
    assert answer.top_intents[0] == ("shipping", answer.confidence)
    assert len(answer.top_intents) == 3
    assert sum(p for _, p in answer.top_intents) <= 1.0 + 1e-6
    shipping_ids = {e.ticket_id for e in tiny_examples() if e.intent == "shipping"}
    assert answer.nearest[0][0] in shipping_ids
    assert [s for _, s in answer.nearest] == sorted((s for _, s in answer.nearest), reverse=True)
    assert model.threshold == outcome.metrics["threshold"]


def test_message_unlike_any_ticket_scores_below_the_default_cut(model):
    answers = model.infer(["What will the weather be like on Mars tomorrow?", "xq zvv plorp"])
    assert all(a.score < model.cut_for(0.8) for a in answers)


def test_known_messages_mostly_reach_the_cut_and_a_stricter_operating_point_answers_fewer(model):
    scores = np.array([a.score for a in model.infer([e.text for e in tiny_examples()])])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (scores >= model.cut_for(0.8)).mean() > 0.5
    assert model.cut_for(0.99) >= model.cut_for(0.8) >= model.cut_for(0.5)
    assert (scores >= model.cut_for(0.99)).sum() <= (scores >= model.cut_for(0.5)).sum()


def test_infer_from_a_thread_pool_matches_sequential_results(model):
    texts = [e.text for e in tiny_examples()][:16]
    sequential = [model.infer([t])[0] for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda t: model.infer([t])[0], texts))
    assert [a.intent for a in parallel] == [a.intent for a in sequential]
    assert [a.nearest[0][0] for a in parallel] == [a.nearest[0][0] for a in sequential]


@pytest.fixture(scope="module")
def torch_model(trained_version) -> LoadedBotModel:
    outcome, _ = trained_version
    return LoadedBotModel.load(outcome.version_dir, prefer_onnx=False)


def test_memory_bytes_counts_the_encoder_weights(model, torch_model, trained_version):
    outcome, _ = trained_version
    parameters = sum(p.numel() for p in torch_model._encoder.parameters())
    assert parameters * 4 < torch_model.memory_bytes < parameters * 4 * 2
    assert (outcome.version_dir / ENCODER_ONNX_FILE).stat().st_size < model.memory_bytes < parameters * 4 * 2


def test_a_trained_version_is_served_by_onnx_runtime(model, torch_model):
    assert model.encoder_backend == "onnxruntime"
    assert torch_model.encoder_backend == "torch"


def test_onnx_runtime_and_torch_embeddings_agree_and_give_the_same_readings(model, torch_model):
    texts = [e.text for e in tiny_examples()] + ["x", "What will the weather be like on Mars tomorrow?",
                                                  "refund " * 80]  # longer than max_length: truncated alike
    onnx_embeddings, onnx_probabilities = model.embed_and_score(texts)
    torch_embeddings, torch_probabilities = torch_model.embed_and_score(texts)
    assert (onnx_embeddings * torch_embeddings).sum(axis=1).min() > 0.9999
    assert np.abs(onnx_probabilities - torch_probabilities).max() < 1e-3
    for one_at_a_time in (True, False):
        onnx = [model.infer([t])[0] for t in texts] if one_at_a_time else model.infer(texts)
        reference = torch_model.infer(texts)
        assert [a.intent for a in onnx] == [a.intent for a in reference]
        assert np.allclose([a.score for a in onnx], [a.score for a in reference], atol=1e-3)
        assert [a.nearest[0][0] for a in onnx] == [a.nearest[0][0] for a in reference]


def test_a_version_without_an_onnx_encoder_is_served_with_torch(version_copy):
    (version_copy / ENCODER_ONNX_FILE).unlink()
    manifest = json.loads((version_copy / MANIFEST_FILE).read_text())
    del manifest["files"][ENCODER_ONNX_FILE]
    (version_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    loaded = LoadedBotModel.load(version_copy)
    assert loaded.encoder_backend == "torch"
    assert loaded.infer(["track my delivery"])[0].intent == "shipping"


def test_empty_batch_gives_no_inferences(model):
    assert model.infer([]) == []


def test_a_batch_of_varied_lengths_gives_each_text_its_own_embedding_in_input_order(model):
    texts = ["refund", "where is my parcel, it was due on Monday and has not arrived yet", "hi",
             "please cancel the order I placed this morning", "password reset"]
    together, _ = model.embed_and_score(texts)
    alone = np.vstack([model.embed_and_score([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_a_misspelt_question_is_read_as_the_ticket_words_it_means(model):
    misspelt, written = model.infer(["cancle my subscripton", "cancel my subscription"])
    assert misspelt.intent == written.intent == "cancel_subscription"
    assert misspelt.score == written.score
    assert misspelt.nearest == written.nearest

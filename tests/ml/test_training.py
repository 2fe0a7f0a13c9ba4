"""Head initialisation for fine-tuning."""

from __future__ import annotations

import numpy as np
import pytest

from ml.training import TrainingConfig, class_prototypes, fine_tune_classifier, linear_probe


def _separable_embeddings(per_class=20, classes=4, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim))
    labels = np.repeat(np.arange(classes), per_class)
    vectors = centres[labels] + 0.4 * rng.normal(size=(len(labels), dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def test_class_prototypes_are_unit_length_class_means():
    embeddings, labels = _separable_embeddings()
    prototypes = class_prototypes(embeddings, labels, 4)
    np.testing.assert_allclose(np.linalg.norm(prototypes, axis=1), 1.0, rtol=1e-5)
    mean = embeddings[labels == 2].mean(axis=0)
    np.testing.assert_allclose(prototypes[2], mean / np.linalg.norm(mean), rtol=1e-4, atol=1e-6)


def test_linear_probe_fits_a_head_that_separates_the_training_embeddings():
    embeddings, labels = _separable_embeddings()
    weight, bias = linear_probe(embeddings, labels, 4, TrainingConfig())
    assert weight.shape == (4, 16) and bias.shape == (4,)
    assert ((embeddings @ weight.T + bias).argmax(axis=1) == labels).all()


def test_unknown_head_initialisation_is_rejected():
    embeddings, labels = _separable_embeddings()
    with pytest.raises(ValueError, match="unknown head_init 'random'"):
        fine_tune_classifier(None, None, labels, 4, embeddings, TrainingConfig(head_init="random"))


@pytest.mark.parametrize(("share", "trains_on"), [(0.0, "tickets"), (1.0, "reworded")])
def test_each_epoch_trains_on_the_share_of_tickets_reworded_as_visitors_type(base_model, share, trains_on):
    from ml.encoder import SentenceEncoder

    encoder = SentenceEncoder.load(base_model)
    tickets = ["Where is my package?", "I forgot my password", "Please refund my order", "cancel my plan"]
    reworded = ["wher is my pakage", "forgot pasword", "refund order pls", "cancle plan"]
    labels = np.arange(4)
    seen: list[list[int]] = []
    collate = encoder.collate

    def recording_collate(token_ids):
        seen.extend(token_ids)
        return collate(token_ids)

    encoder.collate = recording_collate
    config = TrainingConfig(epochs=2, batch_size=2, visitor_wording_share=share)
    fine_tune_classifier(encoder, encoder.tokenize(tickets), labels, 4, encoder.encode(tickets), config,
                         variants=[encoder.tokenize(reworded)])
    expected = encoder.tokenize(tickets if trains_on == "tickets" else reworded).input_ids
    assert sorted(seen) == sorted(expected * 2)


def test_the_semantic_anchor_keeps_fine_tuned_embeddings_near_the_base_encoders(base_model):
    from ml.encoder import SentenceEncoder

    tickets = ["Where is my package?", "I forgot my password", "Please refund my order", "cancel my plan",
               "my parcel never arrived", "reset my login", "money back for this purchase", "stop my subscription"]
    labels = np.arange(8) % 4
    drift = {}
    for weight in (0.0, 5.0):
        encoder = SentenceEncoder.load(base_model)
        base = encoder.encode(tickets)
        config = TrainingConfig(epochs=4, batch_size=4, encoder_lr=1e-3, visitor_wording_share=0.0,
                                semantic_anchor_weight=weight)
        fine_tune_classifier(encoder, encoder.tokenize(tickets), labels, 4, base, config)
        drift[weight] = float(1.0 - (encoder.encode(tickets) * base).sum(axis=1).mean())
    assert drift[5.0] < drift[0.0] / 2

"""The out-of-scope score: candidate scores, pseudo-out-of-scope folds, the operating curve and its points."""

from __future__ import annotations

import numpy as np
import pytest

from ml.oos import (
    COMBINED,
    FEATURES,
    KNN_COSINE,
    KNN_K,
    MAHALANOBIS,
    MAX_PROBABILITY,
    NeighbourBank,
    fit_score_model,
    in_words,
    operating_curve,
    operating_point_for,
    points_by_setting,
    probe_intents,
    pseudo_out_of_scope,
    score_auroc,
    score_features,
    unknown_basis_in_words,
)


def _clusters(n_classes=8, per_class=40, dimension=16, spread=0.15, seed=0):
    """Unit embeddings around one centre per class, and a head that points at the centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dimension))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(n_classes), per_class)
    embeddings = centres[labels] + spread * rng.normal(size=(len(labels), dimension))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings.astype(np.float32), labels, centres * 10.0


def test_messages_near_a_known_intent_outscore_messages_of_an_intent_never_trained_on_every_candidate():
    embeddings, labels, head = _clusters()
    trained = labels < 6
    bank = NeighbourBank.fit(embeddings[trained], labels[trained], 8)
    known = np.arange(6)
    features, predicted = score_features(embeddings @ head.T, 1.0, embeddings, bank, known)
    assert set(predicted) <= set(known)
    for column, name in enumerate(FEATURES):
        auroc = score_auroc(features[trained, column], features[~trained, column])
        assert auroc > 0.9, f"{name} cannot tell known from unknown intents (AUROC {auroc:.3f})"


def test_the_bank_without_some_intents_has_no_neighbours_or_mean_for_them():
    embeddings, labels, _ = _clusters()
    bank = NeighbourBank.fit(embeddings, labels, 8).without(np.array([2, 5]))
    assert not np.isin(bank.labels, [2, 5]).any()
    assert np.allclose(bank.class_means[[2, 5]], 0.0)
    assert bank.precision.shape == (16, 16)


def _sibling_pairs(pairs=10, dimension=32, seed=1):
    """Intent means in pairs: each intent's sibling is much closer to it than any other intent."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(pairs, dimension))
    return np.concatenate([centres + 0.1 * rng.normal(size=centres.shape),
                           centres + 0.1 * rng.normal(size=centres.shape)])


def test_a_probe_leaves_out_a_quarter_of_the_intents_each_with_its_nearest_sibling_kept():
    means = _sibling_pairs()
    left_out = probe_intents(means)
    assert len(left_out) == 5
    siblings = {(i, i + 10) for i in range(10)}
    for intent in left_out:
        pair = {p for p in siblings if intent in p}.pop()
        assert not set(pair) <= set(left_out.tolist()), f"{pair} both left out"


def test_a_probe_leaves_out_intents_from_the_closest_to_the_loneliest():
    rng = np.random.default_rng(2)
    lonely = rng.normal(size=(10, 32)) * 3
    means = np.concatenate([_sibling_pairs(), lonely])
    left_out = probe_intents(means)
    assert len(left_out) == 8
    assert (left_out < 20).any() and (left_out >= 20).any()


def test_too_few_intents_leave_none_out():
    assert probe_intents(_sibling_pairs(pairs=1)).size == 0


def test_pseudo_out_of_scope_scores_every_heldout_message_once_as_known_and_once_as_unknown():
    embeddings, labels, head = _clusters()
    bank = NeighbourBank.fit(embeddings, labels, 8)
    pseudo = pseudo_out_of_scope(embeddings @ head.T, labels, 1.0, embeddings, bank)
    assert pseudo.known_features.shape == pseudo.unknown_features.shape == (len(labels), len(FEATURES))
    assert pseudo.known_correct.mean() > 0.95
    assert pseudo.unknown_topics == 8
    column = FEATURES.index(KNN_COSINE)
    assert pseudo.known_features[:, column].mean() > pseudo.unknown_features[:, column].mean()


@pytest.mark.parametrize("method", [MAX_PROBABILITY, MAHALANOBIS, COMBINED])
def test_a_score_model_maps_to_zero_one_and_survives_a_round_trip(method):
    embeddings, labels, head = _clusters()
    bank = NeighbourBank.fit(embeddings, labels, 8)
    pseudo = pseudo_out_of_scope(embeddings @ head.T, labels, 1.0, embeddings, bank)
    features = np.concatenate([pseudo.known_features, pseudo.unknown_features])
    right = np.concatenate([pseudo.known_correct, np.zeros(len(pseudo.unknown_features), dtype=bool)])
    model = fit_score_model(method, features, right)
    scores = model.score(features)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.allclose(type(model).from_dict(model.as_dict()).score(features), scores)
    assert score_auroc(scores[: len(labels)], scores[len(labels):]) > 0.9


def test_a_version_keeps_scoring_with_the_neighbour_it_was_fitted_on():
    embeddings, labels, head = _clusters()
    model = fit_score_model(COMBINED, *_fitted_features(embeddings, labels, head))
    assert type(model).from_dict(model.as_dict()).knn_k == KNN_K
    written_before_k_was_stored = {key: value for key, value in model.as_dict().items() if key != "knn_k"}
    assert type(model).from_dict(written_before_k_was_stored).knn_k == 3
    bank = NeighbourBank.fit(embeddings, labels, 8)
    nearest, _ = score_features(embeddings @ head.T, 1.0, embeddings, bank, knn_k=1)
    third, _ = score_features(embeddings @ head.T, 1.0, embeddings, bank, knn_k=3)
    column = FEATURES.index(KNN_COSINE)
    assert (nearest[:, column] >= third[:, column]).all() and (nearest[:, column] > third[:, column]).any()


def _fitted_features(embeddings, labels, head):
    bank = NeighbourBank.fit(embeddings, labels, 8)
    pseudo = pseudo_out_of_scope(embeddings @ head.T, labels, 1.0, embeddings, bank)
    return (np.concatenate([pseudo.known_features, pseudo.unknown_features]),
            np.concatenate([pseudo.known_correct, np.zeros(len(pseudo.unknown_features), dtype=bool)]))


def test_an_unknown_score_method_is_refused():
    with pytest.raises(ValueError, match="unknown out-of-scope score"):
        fit_score_model("vibes", np.zeros((4, len(FEATURES))), np.array([1, 0, 1, 0]))


def test_the_operating_curve_trades_answers_for_handoffs_and_the_tenant_picks_a_point_on_it():
    rng = np.random.default_rng(3)
    known = rng.beta(5, 2, size=1000)
    correct = rng.uniform(size=1000) < 0.5 + known / 2
    unknown = rng.beta(2, 5, size=200)
    curve = [p.__dict__ for p in operating_curve(known, correct, unknown)]
    answered = [p["answered"] for p in curve]
    handed_off = [p["unknown_handed_off"] for p in curve]
    assert answered == sorted(answered, reverse=True) and handed_off == sorted(handed_off)
    assert curve[0]["answered"] == 1.0 and curve[0]["unknown_handed_off"] == 0.0
    point = operating_point_for(curve, 0.8)
    assert point["unknown_handed_off"] >= 0.8
    assert (unknown < point["cut"]).mean() == pytest.approx(point["unknown_handed_off"])
    assert (known >= point["cut"]).mean() == pytest.approx(point["answered"])
    stricter = operating_point_for(curve, 0.95)
    assert stricter["cut"] > point["cut"] and stricter["answered"] < point["answered"]
    assert operating_point_for(curve, 1.5)["cut"] == max(p["cut"] for p in curve)
    assert operating_point_for([], 0.8) is None


def test_of_several_points_that_answer_as_many_the_tenant_gets_the_middle_one():
    known, correct, unknown = np.array([0.9, 0.95, 0.97]), np.array([True, True, True]), np.array([0.1, 0.2, 0.3])
    curve = [p.__dict__ for p in operating_curve(known, correct, unknown)]
    point = operating_point_for(curve, 0.6)
    assert point["answered"] == 1.0 and point["unknown_handed_off"] == 1.0
    assert 0.3 < point["cut"] < 0.9, "not at the edge of either side's scores"


def test_an_operating_point_reads_in_words():
    point = {"cut": 0.4, "answered": 0.923, "answered_right": 0.9, "precision": 0.975, "unknown_handed_off": 0.81}
    assert in_words(point) == ("Of 100 questions it knows, about 92 answered (90 with the right answer); "
                               "of 10 it doesn't, about 8 handed to a person.")


def test_what_the_unknown_figures_rest_on_reads_in_words_with_the_weight_of_one_topic():
    assert unknown_basis_in_words(5) == (
        "Questions it doesn't know: measured on 5 topics left out of a probe trained the same way. Each weighs "
        "about 20% of that figure; topics your visitors ask about that sit closer to what it knows are handed off "
        "less often, and questions unrelated to any of them more often.")
    assert "measured on 1 topic left out" in unknown_basis_in_words(1)
    assert unknown_basis_in_words(None) is None and unknown_basis_in_words(0) is None


def test_a_probes_unknown_questions_are_matched_to_the_version_by_the_share_of_known_questions_answered():
    rng = np.random.default_rng(5)
    version_known = rng.uniform(0.5, 1.0, size=400)  # the version's scores run higher than the probe's
    probe_known = rng.uniform(0.3, 0.8, size=400)
    probe_unknown = rng.uniform(0.0, 0.5, size=400)
    curve = operating_curve(version_known, np.ones(400, dtype=bool), probe_unknown, reference_known=probe_known)
    assert curve[0].answered == 1.0 and curve[0].cut == pytest.approx(version_known.min())
    for point in curve[:-1]:
        matched_cut = np.sort(probe_known)[::-1][max(1, round(point.answered * 400)) - 1]
        assert point.unknown_handed_off == pytest.approx((probe_unknown < matched_cut).mean())
    half = min(curve, key=lambda p: abs(p.answered - 0.5))
    assert half.unknown_handed_off == pytest.approx(1.0), "the probe's median known score is above every unknown"


def test_every_position_of_the_tenants_control_picks_its_point_on_the_curve():
    rng = np.random.default_rng(4)
    curve = [p.__dict__ for p in operating_curve(rng.beta(5, 2, 500), np.ones(500, dtype=bool), rng.beta(2, 5, 100))]
    by_setting = points_by_setting(curve)
    assert list(by_setting)[0] == "0.50" and list(by_setting)[-1] == "0.99" and len(by_setting) == 50
    assert by_setting["0.80"] == operating_point_for(curve, 0.8)
    assert points_by_setting([]) == {}

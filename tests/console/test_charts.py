"""The SVG chart builders: drawn from the metrics JSON, data escaped, nothing drawn without data."""

from bots.console import charts


def test_the_confusion_heatmap_has_a_cell_per_pair_and_escapes_intent_names():
    svg = charts.confusion_heatmap({"labels": ["<script>", "refund"], "matrix": [[3, 1], [0, 4]]})
    assert svg.count("<rect") == 4
    assert "&lt;script&gt;" in svg and "<script>" not in svg
    assert 'data-count="3"' in svg and "true refund → predicted refund: 4 (100% of the row)" in svg


def test_a_large_confusion_matrix_drops_the_labels_but_keeps_every_cell():
    n = 60
    svg = charts.confusion_heatmap({"labels": [f"i{k}" for k in range(n)],
                                    "matrix": [[1 if i == j else 0 for j in range(n)] for i in range(n)]})
    assert svg.count("<rect") == n * n and "<text" not in svg


def test_the_reliability_diagram_draws_only_bins_with_messages():
    bins = [{"lower": 0.0, "upper": 0.5, "mean_confidence": None, "accuracy": None, "count": 0},
            {"lower": 0.5, "upper": 1.0, "mean_confidence": 0.8, "accuracy": 0.75, "count": 4}]
    svg = charts.reliability_diagram(bins)
    assert svg.count("<rect") == 1 and "accuracy 75% over 4 messages" in svg


def test_the_precision_coverage_chart_marks_the_threshold_and_the_target():
    curve = [{"threshold": t / 10, "precision": None if t == 10 else 0.8 + t / 60, "coverage": 1 - t / 10}
             for t in range(11)]
    svg = charts.precision_coverage_chart(curve, threshold=0.6, target_precision=0.9)
    assert 'data-series="precision"' in svg and 'data-series="coverage"' in svg
    assert "answer threshold 0.60" in svg


def test_no_data_means_no_chart():
    assert charts.confusion_heatmap({"labels": [], "matrix": []}) is None
    assert charts.reliability_diagram([]) is None
    assert charts.precision_coverage_chart([], threshold=None, target_precision=None) is None

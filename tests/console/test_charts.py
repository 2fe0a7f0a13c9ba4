"""The SVG chart builders: from the metrics JSON and the daily counts, data escaped, nothing drawn without data."""

from datetime import date, timedelta

from analytics.selectors import DayCounts
from console import charts


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


def test_the_operating_curve_chart_draws_answered_and_answered_right_and_marks_the_tenants_point():
    curve = [{"cut": t / 10, "answered": 1 - t / 20, "answered_right": 0.95 - t / 20, "precision": 0.95,
              "unknown_handed_off": t / 10} for t in range(11)]
    svg = charts.operating_curve_chart(curve, current=curve[8])
    assert 'data-series="answered"' in svg and 'data-series="answered_right"' in svg
    assert 'data-series="current"' in svg
    assert "Of 100 questions it knows, about 60 answered (55 with the right answer)" in svg


def test_no_data_means_no_chart():
    assert charts.confusion_heatmap({"labels": [], "matrix": []}) is None
    assert charts.reliability_diagram([]) is None
    assert charts.operating_curve_chart([], current=None) is None


def _days(*counts):
    return [DayCounts(day=date(2026, 3, 1) + timedelta(days=i), conversations=c, automated=a, handed_off=h, messages=m)
            for i, (c, a, h, m) in enumerate(counts)]


SERIES = [("automated", "Resolved <by> the bot", "#0f766e"), ("handed_off", "Handed off", "#d97706"),
          ("open_or_unresolved", "Open", "#94a3b8")]


def test_daily_bars_stack_each_days_counts_with_a_title_and_escape_labels():
    svg = charts.daily_bars(_days((3, 1, 1, 9), (0, 0, 0, 0), (7, 4, 2, 20)), SERIES, label="Per day")
    assert svg.count("<g data-day=") == 3
    assert '<g data-day="2026-03-01" data-total="3">' in svg and '<g data-day="2026-03-02" data-total="0">' in svg
    assert "Sun 1 Mar: Resolved &lt;by&gt; the bot: 1, Handed off: 1, Open: 1" in svg
    assert svg.count('fill="#0f766e"') == 1 + 2 and "Resolved <by>" not in svg  # two bars and the legend
    assert ">10</text>" in svg  # the axis runs to a round 10 for a top day of 7


def test_the_daily_axis_is_whole_numbers_for_small_counts():
    svg = charts.daily_bars(_days((1, 1, 0, 1)), SERIES, label="Per day")
    assert ">0</text>" in svg and ">1</text>" in svg and ">0.5</text>" not in svg


def test_the_distribution_draws_a_bar_per_score_with_its_share():
    svg = charts.distribution_bars({1: 1, 2: 0, 3: 0, 4: 1, 5: 2}, label="Ratings")
    assert svg.count("data-score=") == 5
    assert 'data-score="5" data-count="2"' in svg and "5 of 5: 2 (50%)" in svg


def test_no_day_or_rating_means_no_chart():
    assert charts.daily_bars([], SERIES, label="Per day") is None
    assert charts.distribution_bars({1: 0, 2: 0}, label="Ratings") is None

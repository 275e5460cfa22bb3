"""The charts' axes and number formats, in process (no server, no browser)."""

from __future__ import annotations

import pytest

from nbprod.server.axis import decimals_for, human, nice_axis, nice_step, tick_labels
from nbprod.server.charts import pad_for, scatter
from nbprod.server.templating import exact


@pytest.mark.parametrize(
    "low, high, ticks, labels",
    [
        (0, 479, (0, 200, 400, 600), ("0", "200", "400", "600")),
        (12, 479, (0, 200, 400, 600), ("0", "200", "400", "600")),  # counts start at 0
        (120000, 150555, (120000, 130000, 140000, 150000, 160000), None),
        (0.80, 0.829, (0.8, 0.81, 0.82, 0.83), ("0.80", "0.81", "0.82", "0.83")),
        (-5, 4.9, (-5, -2.5, 0, 2.5, 5), ("-5.0", "-2.5", "0", "2.5", "5.0")),
        (-23.95, -1, (-30, -20, -10, 0), ("-30", "-20", "-10", "0")),
        (1e9, 3.5e9, (0, 1e9, 2e9, 3e9, 4e9), ("0", "1G", "2G", "3G", "4G")),
        (7, 7, (0, 2, 4, 6, 8), ("0", "2", "4", "6", "8")),  # one value: from zero to it
        (0, 0, (0, 0.25, 0.5, 0.75, 1), ("0", "0.25", "0.50", "0.75", "1.00")),
    ],
)
def test_nice_axis(low, high, ticks, labels):
    axis = nice_axis(low, high)
    assert axis.ticks == pytest.approx(ticks)
    assert axis.lo <= low and axis.hi >= high  # the data fits
    if labels:
        assert axis.labels == labels


def test_non_negative_data_never_goes_below_zero():
    # The old axis padded 5 % either side: 0..479 orders were drawn from -23.95.
    for low, high in [(0, 479), (0.001, 0.4), (3, 5), (0.80, 0.83), (1000, 1290), (0, 1e-6)]:
        assert nice_axis(low, high).lo >= 0
    assert nice_axis(0.80, 0.83).lo > 0.7  # bunched far from zero: its changes stay visible


def test_labels_are_human_and_never_scientific():
    for low, high in [(120000, 150000), (1.5e7, 1.6e7), (0, 3e12), (1e-5, 9e-5), (133333, 133334)]:
        labels = nice_axis(low, high).labels
        assert not any("e+" in t or "e-" in t for t in labels), labels
        assert len(set(labels)) == len(labels), labels  # neighbours differ
    assert nice_axis(120000, 150000).labels == ("120k", "130k", "140k", "150k")
    assert nice_axis(1.5e7, 1.65e7).labels == ("15.0M", "15.5M", "16.0M", "16.5M")
    assert tick_labels([0, 2500, 5000], 2500) == ("0", "2.5k", "5.0k")


def test_steps_and_decimals():
    assert [nice_step(s, 4) for s in (479, 30000, 0.029, 2)] == [200, 10000, 0.01, 0.5]
    assert [decimals_for(s) for s in (200, 2.5, 0.25, 0.01)] == [0, 1, 2, 2]


def test_human_and_exact_numbers():
    assert [human(v) for v in (133333.3, 1.25e6, 0.8123, 999.99, 5, 0, -1500)] == [
        "133k",
        "1.25M",
        "0.812",
        "1k",
        "5",
        "0",
        "-1.5k",
    ]
    assert [exact(v) for v in (133333.3, 1.5e7, 0.81234567, 3_000_000_011, 2.0, 1e-7)] == [
        "133,333",
        "15,000,000",
        "0.812346",
        "3,000,000,011",
        "2",
        "1e-07",
    ]


def test_left_margin_fits_the_longest_label():
    assert pad_for(["0", "50k", "100k"]) < pad_for(["3.000000015G"])
    axis = nice_axis(120000, 150000)
    assert pad_for(axis.labels) >= 12 + 6 * max(map(len, axis.labels))


def test_scatter_of_a_scrap_against_parameters():
    numeric = scatter("lr", "acc", [(0.1, 0.9, "r1"), (0.01, 0.8, "r2"), (1, "n/a", "r3")], {})
    assert [p.run_id for p in numeric.points] == ["r1", "r2"]  # a non-number y is left out
    assert not numeric.categorical
    xs = {p.run_id: p.x for p in numeric.points}
    assert xs["r2"] < xs["r1"]  # linear in the parameter
    ys = {p.run_id: p.y for p in numeric.points}
    assert ys["r1"] < ys["r2"]  # SVG y grows downwards: the higher accuracy is higher up
    categories = scatter("model", "acc", [("forest", 1, "a"), ("logreg", 2, "b")], {"a": "ok"})
    assert categories.categorical and [t.label for t in categories.x_ticks] == ["forest", "logreg"]
    assert categories.points[0].status == "ok"
    assert scatter("x", "y", [], {}).points == []

"""The desk's pure helpers: SVG charts, ticks, the median and its humanised reading."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest

from desk.charts import Bar, Series, column_chart, hbar_chart, label_indexes, nice_ticks
from desk.dashboard import (
    DEFAULT_PERIOD,
    humanize_duration,
    median_duration,
    period_for,
    period_parse,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own markup


def chart(**overrides):
    options = {
        "chart_id": "c",
        "title": "Conversations by channel per day",
        "desc": "Two channels over three days.",
        "categories": ["1 Mar", "2 Mar", "3 Mar"],
        "series": [
            Series("widget", "Web widget", "#6366f1", [1, 0, 3]),
            Series("telegram", "Telegram", "#0ea5e9", [2, 0, 1]),
        ],
        "y_label": "Conversations",
        "x_label": "Day",
    }
    options.update(overrides)
    return column_chart(**options)


def test_column_chart_is_accessible_svg():
    root = parse(chart())
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Conversations by channel per day"
    assert root.find(f"{SVG}desc").text == "Two channels over three days."
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Conversations" in texts and "Day" in texts  # axis labels
    assert "Web widget (4)" in texts and "Telegram (3)" in texts  # legend with totals
    assert {"1 Mar", "2 Mar", "3 Mar"} <= set(texts)


def test_stacked_bars_skip_zeros_and_carry_tooltips():
    root = parse(chart())
    bars = root.find(f".//{SVG}g[@class='desk-bars']")
    tips = [rect.find(f"{SVG}title").text for rect in bars.iter(f"{SVG}rect")]
    assert tips == [
        "1 Mar · Web widget: 1",
        "1 Mar · Telegram: 2",
        "3 Mar · Web widget: 3",
        "3 Mar · Telegram: 1",
    ]
    # Stacked: the day-3 bars share x and sit on top of each other.
    rects = list(bars.iter(f"{SVG}rect"))
    assert rects[2].get("x") == rects[3].get("x")
    bottom_of_top = float(rects[3].get("y")) + float(rects[3].get("height"))
    assert bottom_of_top == pytest.approx(float(rects[2].get("y")))


def test_grouped_bars_sit_side_by_side():
    root = parse(chart(stacked=False))
    rects = list(root.find(f".//{SVG}g[@class='desk-bars']").iter(f"{SVG}rect"))
    assert float(rects[1].get("x")) > float(rects[0].get("x"))


def test_chart_text_is_escaped():
    markup = chart(title="<script>&", categories=["a<b", "c", "d"])
    assert "<script>" not in markup
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "<script>&"


def test_an_empty_chart_still_draws_axes():
    root = parse(
        chart(series=[Series("widget", "Web widget", "#000", [0, 0, 0])], categories=["a"] * 3)
    )
    assert not list(root.find(f".//{SVG}g[@class='desk-bars']"))
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "desk-tick"][:2] == [
        "0",
        "1",
    ]


def test_series_must_match_categories():
    with pytest.raises(ValueError, match="expected 3"):
        chart(series=[Series("x", "X", "#000", [1])])


def test_hbar_chart():
    root = parse(
        hbar_chart(
            chart_id="s",
            title="Opportunities by status",
            desc="Qualified 3, Closed 0.",
            bars=[Bar("Qualified", 3, "#0ea5e9"), Bar("Closed", 0, "#64748b")],
            x_label="Opportunities",
        )
    )
    assert root.find(f"{SVG}title").text == "Opportunities by status"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts[:3] == ["Qualified", "3", "Closed"]
    assert "Opportunities" in texts
    filled = [r for r in root.iter(f"{SVG}rect") if r.get("fill")]
    assert [r.find(f"{SVG}title").text for r in filled] == ["Qualified: 3"]


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (18, [0, 5, 10, 15, 20]),
        (95, [0, 50, 100]),
        (240, [0, 100, 200, 300]),
    ],
)
def test_nice_ticks(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_label_indexes_keep_the_last_day():
    assert label_indexes(0) == []
    assert label_indexes(7) == list(range(7))
    assert label_indexes(30) == [2, 5, 8, 11, 14, 17, 20, 23, 26, 29]
    assert label_indexes(90)[-1] == 89 and len(label_indexes(90)) <= 10


def test_median_duration():
    seconds = [timedelta(seconds=s) for s in (5, 20, 60, 120)]
    assert median_duration(seconds) == timedelta(seconds=40)
    assert median_duration(seconds[:3]) == timedelta(seconds=20)
    assert median_duration([]) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.4, "0 s"),
        (42, "42 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (754, "13 min"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (86400 + 4 * 3600, "1 d 4 h"),
    ],
)
def test_humanize_duration(seconds, text):
    duration = None if seconds is None else timedelta(seconds=seconds)
    assert humanize_duration(duration) == text


@pytest.mark.parametrize(
    ("value", "days"), [("7", 7), ("30", 30), ("90", 90), ("5", 30), ("x", 30), (None, 30)]
)
def test_period_parse(value, days):
    assert period_parse(value) == days
    assert DEFAULT_PERIOD == 30


def test_period_for_covers_whole_days_up_to_today(settings):
    settings.TIME_ZONE = "America/Bogota"
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 9 March, 22:00 in Bogotá
    period = period_for(days=7, now=now)
    assert period.dates[0] == date(2026, 3, 3) and period.dates[-1] == date(2026, 3, 9)
    assert period.start == datetime(2026, 3, 3, 5, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 3, 10, 5, 0, tzinfo=UTC)

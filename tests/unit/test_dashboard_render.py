"""The dashboard page draws one mark per value in a real headless browser, offline."""
from __future__ import annotations

import pytest

from dashboard.browser import rendered_marks
from dashboard.render import Chart, Series, expected_marks, render_page

CHARTS = (
    Chart("premiums_claims", "Premiums and claims by month", "lines", ("2024-01", "2024-02", "2024-03"),
          (Series("premiums earned", (1.5, 2, None)), Series("claims incurred", (0.5, 1, 3)))),
    Chart("loss_ratio", "Loss ratio by line", "bars", ("0531", "0114"),
          (Series("loss ratio", (0.5, 1.25)),), percent=True),
    Chart("empty", "No data", "bars", (), (Series("share", ()),)),
)


def test_every_value_becomes_one_mark_in_the_browser(tmp_path):
    page = tmp_path / "dashboard.html"
    page.write_text(render_page("lakeforge <test>", CHARTS), encoding="utf-8")
    assert rendered_marks(page) == {c.key: expected_marks(c) for c in CHARTS} == {
        "premiums_claims": 5, "loss_ratio": 2, "empty": 0}


def test_the_page_needs_no_network_and_escapes_text():
    page = render_page("a </script><b>", (Chart("x", "t </script>", "bars", ("c",), (Series("s", (1,)),)),))
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<b>" not in page
    assert page.count("</script>") == 2  # the data block and the script, nothing injected


def test_a_series_must_match_its_categories():
    with pytest.raises(ValueError, match="2 values for 1 categories"):
        Chart("x", "t", "bars", ("a",), (Series("s", (1, 2)),))


def test_the_three_views_render_one_mark_per_kpi_value(tmp_path):
    from dashboard.views import VIEWS, charts
    from tests.kpi_gold_rows import expected

    rows = {view.kpi: expected(view.kpi, {}) for view in VIEWS}
    built = charts(rows)
    page = tmp_path / "dashboard.html"
    page.write_text(render_page("lakeforge", built), encoding="utf-8")
    want = {view.key: sum(r[c] is not None for r in rows[view.kpi] for c, _ in view.series) for view in VIEWS}
    assert all(want.values())  # the literal rows give every view something to draw
    assert rendered_marks(page) == want == {c.key: expected_marks(c) for c in built}

"""The sweep's plots: a colour per codec family whatever way it is sent, a line style per way, one legend for the
figure, out of the panels' way."""

from __future__ import annotations

import matplotlib.pyplot as plt
from PIL import Image

from semlink.evaluation.plots import _bytes_panel, _figure_legend, family_colors, plot_sweep
from semlink.evaluation.runner import EvalResult


def _row(codec: str, wire: float, quality: float, domain: str, pack: int = 1, spread: int = 0,
         loss: float = 0.2) -> EvalResult:
    return EvalResult(model="m", codec=codec, task="<CAPTION>", n=1, loss=loss, snr_db=None, wire_bytes=wire,
                      payload_bytes=wire, session_bytes=0, datagrams=1, datagrams_lost=0, latency_ms=0,
                      metrics={"exact_match": quality}, domain=domain, pack=pack, spread=spread, burst=4.0)


ROWS = [_row(codec, wire, q, "features", pack, spread)
        for pack in (1, 4) for spread in (0, 1, 2)
        for codec, wire, q in (("learned", 70 - 10 * pack, 0.8 + spread / 50), ("learned:rate20", 50, 0.7))] + [
    _row("avif-q20", 110, 0.74, "pixels"), _row("avif-q40", 150, 0.76, "pixels"),
    _row("webp-q30", 140, 0.75, "pixels")]


def test_one_colour_a_family_and_one_line_style_a_way_of_sending():
    fig, ax = plt.subplots()
    _bytes_panel(ax, ROWS, "exact_match", family_colors(ROWS))
    lines = {line.get_label(): line for line in ax.get_lines()}
    plt.close(fig)
    learned = [lines[name] for name in ("learned", "learned packed 4", "learned spread 1", "learned packed 4 spread 2")]
    assert len({line.get_color() for line in learned}) == 1
    assert len({line.get_linestyle() for line in learned}) == 4
    assert lines["learned spread 2"].get_markerfacecolor() == "none"
    assert lines["avif"].get_color() != lines["webp"].get_color() != lines["learned"].get_color()
    assert lines["best-pixels"].get_linestyle() == "--"


def test_one_legend_sits_right_of_the_panels_and_the_file_keeps_it(tmp_path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax in axes:
        _bytes_panel(ax, ROWS, "exact_match", family_colors(ROWS))
    _figure_legend(fig, axes)
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert all(ax.get_legend() is None for ax in axes) and len(fig.legends) == 1
    assert legend.x0 >= max(ax.get_window_extent().x1 for ax in axes)
    assert len(fig.legends[0].get_texts()) == len({line.get_label() for line in axes[0].get_lines()})
    plt.close(fig)
    path = plot_sweep(ROWS, tmp_path)[0]
    assert Image.open(path).size[0] > 6 * 120 * 1.2  # the panel's 6 in at 120 dpi, and the legend saved beside it

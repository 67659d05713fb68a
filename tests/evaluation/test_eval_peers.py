"""`semlink eval` with pixel peers: refused specs before a model loads, a row per overhead, BD-rates, --help runs."""

from __future__ import annotations

import json
import shlex

import pytest

import semlink.cli.eval as eval_cli
from semlink.cli.main import build_parser, main
from semlink.evaluation.bd_rate import BEST_PIXELS, bd_rates
from semlink.evaluation.runner import EvalResult
from semlink.packets.transport import parse_overheads
from semlink.pixels.spec import parse_peer_specs


def _no_model(*args, **kwargs):
    raise AssertionError("a model was loaded before the bad option was refused")


@pytest.mark.parametrize("argv, says", [
    (["--baselines", "avif:200"], "qualities 0..100"),
    (["--baselines", "jpeg:30", "bmp:20"], "FMT@S:Q"),
    (["--baselines", "learned-pixels:nosuchpoint"], "learned-pixels"),
    (["--datagram-overhead", "0,ipx"], "rtp-ipv4 (40)"),
    (["--pack", "1,3", "--batch", "8"], "each K must be 1 to 15 and divide --batch 8"),
    (["--pack", "32", "--batch", "32"], "each K must be 1 to 15"),
    (["--spread", "0,17"], "each S must be 0 to 16"),
])
def test_what_cannot_work_is_refused_before_any_model_loads(monkeypatch, capsys, argv, says):
    monkeypatch.setattr(eval_cli, "load_model", _no_model)
    assert main(["eval", "--n", "2", *argv]) == 1
    assert says in capsys.readouterr().err


def test_every_row_carries_the_fields_and_one_run_gives_a_row_per_overhead(tmp_path, capsys):
    code = main(["eval", "--codec", "learned:all", "--baselines", "avif:20,40", "webp:30", "jpeg@32:50",
                 "--datagram-overhead", "0,rtp-ipv4", "--n", "4", "--seed", "1207", "--json", "--out", str(tmp_path)])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows = [r for r in lines if "bd_rate" not in r]
    assert rows == json.loads((tmp_path / "results.json").read_text())
    for row in rows:
        for key in ("wire_bytes", "session_bytes", "datagrams", "datagram_overhead", "domain"):
            assert key in row
    by = {(r["codec"], r["datagram_overhead"]): r for r in rows}
    for (codec, overhead), row in by.items():
        if overhead == 40:
            clean = by[(codec, 0)]
            assert row["wire_bytes"] == pytest.approx(clean["wire_bytes"] + 40 * clean["datagrams"])
            assert row["exact_match"] == clean["exact_match"]  # one run, two costs
    assert by[("avif-q20", 0)]["domain"] == "pixels" and by[("learned", 0)]["domain"] == "features"
    assert by[("avif-q20", 0)]["session_bytes"] == 288 and by[("webp-q30", 0)]["session_bytes"] == 27
    assert by[("jpeg@32-q50", 0)]["codec"] == "jpeg@32-q50"
    rates = json.loads((tmp_path / "bd_rates.json").read_text())
    assert {r["anchor"] for r in rates} >= {BEST_PIXELS, "avif", "webp"}
    assert {r["datagram_overhead"] for r in rates} == {0, 40}
    assert (tmp_path / "caption_quality_vs_bytes.png").exists()


def test_packed_frames_pay_a_share_of_each_datagram_and_lose_slices_together(tmp_path, capsys):
    """--pack 1,4: a row per K; packed, a frame's datagrams are a quarter of a group's, its bytes under 40 B a
    datagram fall by most of three quarters of its overhead, and what one frame loses every frame of its group
    loses (so, frame for frame, as many slices as alone at the same loss rate, on average)."""
    code = main(["eval", "--codec", "learned", "--baselines", "avif:20", "--pack", "1,4", "--batch", "8",
                 "--loss", "0,0.3", "--datagram-overhead", "0,40", "--n", "16", "--seed", "1207", "--json",
                 "--out", str(tmp_path)])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by = {(r["codec"], r["pack"], r["loss"], r["datagram_overhead"]): r for r in rows if "codec" in r}
    for codec, datagrams in (("learned", 4), ("avif-q20", 1)):
        alone, packed = by[(codec, 1, 0.0, 40)], by[(codec, 4, 0.0, 40)]
        assert alone["datagrams"] == datagrams and packed["datagrams"] == datagrams / 4
        assert packed["wire_bytes"] < alone["wire_bytes"] - 0.75 * 40 * datagrams + 5
        assert packed["exact_match"] == alone["exact_match"]  # nothing lost, nothing changed
        assert by[(codec, 4, 0.3, 0)]["datagrams_lost"] > 0
    assert json.loads((tmp_path / "results.json").read_text())[0]["pack"] in (1, 4)
    for rate in json.loads((tmp_path / "bd_rates.json").read_text()):  # a front names each point's packing
        assert all(name.endswith(" packed 4") or " packed " not in name for name in rate["anchor_points"])
        assert len(set(rate["anchor_points"])) == len(rate["anchor_points"])


def test_spread_frames_cost_the_same_bytes_and_are_named_by_their_spread(tmp_path, capsys):
    """--spread 0,2: a row per S, the same bytes and datagrams (nothing is added to the wire), the same answers on
    a clean link, and the table and fronts name the spread rows."""
    code = main(["eval", "--codec", "learned", "--baselines", "avif:20", "--spread", "0,2", "--batch", "8",
                 "--datagram-overhead", "0,40", "--n", "8", "--seed", "1207", "--out", str(tmp_path)])
    assert code == 0
    assert "learned spread 2" in capsys.readouterr().out
    rows = json.loads((tmp_path / "results.json").read_text())
    by = {(r["codec"], r["spread"], r["datagram_overhead"]): r for r in rows}
    for codec in ("learned", "avif-q20"):
        for overhead in (0, 40):
            plain, spread = by[(codec, 0, overhead)], by[(codec, 2, overhead)]
            for key in ("wire_bytes", "datagrams", "exact_match"):
                assert spread[key] == plain[key]


def _row(codec: str, wire: float, quality: float, domain: str, overhead: int = 0) -> EvalResult:
    return EvalResult(model="m", codec=codec, task="<CAPTION>", n=1, loss=0.0, snr_db=None, wire_bytes=wire,
                      payload_bytes=wire, session_bytes=0, datagrams=1, datagrams_lost=0, latency_ms=0,
                      metrics={"exact_match": quality}, datagram_overhead=overhead, domain=domain)


def test_the_best_pixel_anchor_is_the_front_of_every_pixel_point():
    rows = [_row("learned:rate50", 50, 0.80, "features"), _row("learned", 100, 0.95, "features"),
            _row("avif-q10", 100, 0.80, "pixels"), _row("avif-q30", 400, 0.95, "pixels"),
            _row("webp-q10", 150, 0.80, "pixels"), _row("webp-q60", 200, 0.95, "pixels")]
    rates = {r["anchor"]: r for r in bd_rates(rows + [_row("learned", 200, 0.95, "features", overhead=40)])
             if r["datagram_overhead"] == 0}
    assert rates[BEST_PIXELS]["anchor_points"] == ["avif-q10", "webp-q60"]  # avif-q30 and webp-q10 are dominated
    assert rates[BEST_PIXELS]["bd_rate"] == pytest.approx(-50.0, abs=0.5)  # half the bytes at each end
    assert rates["webp"]["bd_rate"] < rates[BEST_PIXELS]["bd_rate"]  # the best peer is the hardest to beat


def _help_examples() -> list[str]:
    return [line.strip() for line in eval_cli.HELP.splitlines() if line.strip().startswith("semlink eval")]


def _runnable(example: str, tmp_path) -> list[str] | None:
    argv = shlex.split(example.split("  #")[0])[1:]
    if any(a in argv for a in ("--data", "--model")):
        return None  # needs your images or a hub checkpoint
    argv = [a for a in argv if a != "learned-pixels:all" or _learned_pixels_ship()]
    return [str(tmp_path / a) if a.startswith("runs/") else a for a in argv] + ["--n", "2", "--batch", "4"]


def test_help_examples_parse_with_valid_peers(tmp_path):
    """Every example in --help parses, its peers and overheads are ones eval takes (the quick check)."""
    parser = build_parser("eval")
    examples = [_runnable(e, tmp_path) for e in _help_examples()]
    assert len([e for e in examples if e]) >= 6
    for argv in filter(None, examples):
        args = parser.parse_args(argv)
        parse_peer_specs(args.baselines, model=args.model)
        parse_overheads(args.datagram_overhead)


def test_the_first_help_examples_run(tmp_path, capsys):
    for example in _help_examples()[:3]:
        argv = _runnable(example, tmp_path)
        assert argv and main(argv) == 0, example
    capsys.readouterr()


@pytest.mark.slow  # every example runs: ~40 s on an idle machine, minutes on a busy one
def test_help_examples_run(tmp_path, capsys):
    """Every example in --help runs (those on the shipped model and data), with 2 frames a point."""
    ran = 0
    for example in _help_examples():
        argv = _runnable(example, tmp_path)
        if argv:
            assert main(argv) == 0, example
            ran += 1
    capsys.readouterr()
    assert ran >= 6


def _learned_pixels_ship() -> bool:
    try:
        from semlink.pixels.learned import learned_pixel_points
    except ImportError:
        return False
    return bool(learned_pixel_points("shapes-tiny"))

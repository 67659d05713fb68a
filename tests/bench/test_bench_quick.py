"""The scale-out benchmarks' quick runs: each prints its table, the figures are sane and the ratio is the one
the table's columns give."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

NUMBER = r"([0-9][0-9.,]*)"


def bench(*args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, "-m", "semlink.cli", "bench", *args], capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_stages_prints_every_stage_and_their_sum():
    out = bench("stages", "--quick", "--shape", "256,12,12", "--proxy", "inprocess")
    rows = {name: number(p50) for name, p50, _ in re.findall(rf"^(\w+)\s+{NUMBER}\s+{NUMBER}$", out, re.M)}
    assert set(rows) == {"compress", "serialize", "proxy", "reassemble", "decompress"}, out
    assert all(0 < v < 10_000 for v in rows.values()), out
    link = number(re.search(rf"^link\s+{NUMBER}", out, re.M).group(1))
    assert link == pytest.approx(sum(rows.values()), abs=0.01)


def test_proxy_compares_channel_sim_with_a_bare_pass_through():
    out = bench("proxy", "--quick")
    fps = {name.strip(): number(v) for name, v in
           re.findall(rf"^(bare grpc.aio pass-through|channel_sim)\s+{NUMBER}", out, re.M)}
    assert set(fps) == {"bare grpc.aio pass-through", "channel_sim"} and all(v > 0 for v in fps.values()), out
    ratio = number(re.search(rf"channel_sim / bare pass-through: {NUMBER}", out).group(1))
    assert ratio == pytest.approx(fps["channel_sim"] / fps["bare grpc.aio pass-through"], abs=0.01)


def test_receiver_batching_against_max_batch_1():
    out = bench("receiver", "--quick", "--concurrency", "1,4", "--max-batch", "4")
    rows = re.findall(rf"^\s+(\d+) \|\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} \|\s+{NUMBER}\s+{NUMBER}\s+{NUMBER} \|\s+"
                      rf"{NUMBER}x$", out, re.M)
    assert [int(r[0]) for r in rows] == [1, 4], out
    for _, batched, b50, b99, single, s50, s99, ratio in rows:
        assert number(batched) > 0 and number(single) > 0
        assert 0 < number(b50) <= number(b99) and 0 < number(s50) <= number(s99)
        assert number(ratio) == pytest.approx(number(batched) / number(single), abs=0.01)
    assert "failed" not in out


@pytest.mark.slow  # three receiver processes one after another: about a minute on two cores
def test_scaling_one_receiver_against_two():
    out = bench("scaling", "--quick", "--concurrency", "2")
    per = dict((int(n), number(v)) for n, v in re.findall(rf"^\s+([12]) \|\s+{NUMBER}", out, re.M))
    assert set(per) == {1, 2} and all(v > 0 for v in per.values()), out
    speedup, efficiency = re.search(rf"speedup {NUMBER}x, scaling efficiency {NUMBER}%", out).groups()
    assert number(speedup) == pytest.approx(per[2] / per[1], abs=0.01)
    assert number(efficiency) == pytest.approx(100 * per[2] / per[1] / 2, abs=1)
    assert not math.isnan(per[2])

"""scripts/measure_batch_agreement.py: runs on a tiny model and reports consistent figures; its documented command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "measure_batch_agreement.py"


def measure(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def check_figures(result: dict, n: int, batch: int, tasks: list[str]) -> None:
    assert (result["n"], result["batch"]) == (n, batch) and result["cpu"] and result["torch"]
    assert result["vision_features_max_abs_diff"] >= 0 and result["image_embeddings_max_abs_diff_receiver"] >= 0
    assert 0 <= result["frames_whose_packets_differ_end_to_end"] <= n
    assert 0 <= result["mixed_tasks_differ"] <= n
    assert result["mixed_tasks_agreement"] == pytest.approx(1 - result["mixed_tasks_differ"] / n)
    assert list(result["tasks"]) == tasks
    for figures in result["tasks"].values():
        assert figures["receiver_agreement"] == pytest.approx(1 - figures["receiver_differ"] / n)
        assert figures["end_to_end_agreement"] == pytest.approx(1 - figures["end_to_end_differ"] / n)
        assert len(figures["examples"]) == min(3, figures["receiver_differ"])
        assert all(e["one"] != e["batched"] for e in figures["examples"])


def test_it_measures_a_tiny_model_and_the_figures_add_up():
    done = measure("--model", "tiny-random", "--codec", "q8", "--n", "6", "--batch", "4", "--max-new-tokens", "8",
                   "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    check_figures(json.loads(done.stdout), 6, 4, ["<CAPTION>", "<OD>"])


@pytest.mark.slow
def test_the_documented_command():
    """The command in the script's docstring and docs/batch-agreement.md: shapes-tiny, 200 scenes, batches of 8."""
    done = measure("--n", "200", "--batch", "8", "--json", timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    check_figures(json.loads(done.stdout), 200, 8, ["<CAPTION>", "<OD>"])

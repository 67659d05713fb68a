"""Packet erasure channels, Bernoulli and Gilbert–Elliott, as packet drops (numpy) and row erasures (torch).

Gilbert–Elliott follows Linux netem's ``loss gemodel p r 1-h 1-k``: a two-state
Markov chain, Good and Bad, visited once per packet.

- ``p`` = P(Good → Bad), ``r`` = P(Bad → Good) (per packet);
- ``1 - h`` = loss probability in Bad, ``1 - k`` = loss probability in Good.

So ``GilbertElliott(p, r)`` (``h = 0``, ``k = 1``, netem's defaults) is the simple
Gilbert model: every packet in Bad is lost, none in Good, mean burst ``1 / r``.
As in netem, packet ``t``'s fate is drawn from the state it is in, then the chain
moves. Unlike netem (which starts in Good), a fresh process starts from the
stationary distribution, so realised rates are unbiased from the first packet.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from semlink.channel.lazy_torch import torch

from semlink.channel.checks import check_probability
from semlink.channel.report import ChannelReport
from semlink.channel.rows import erase_packets, packet_count, uniform
from semlink.packets import Packet


class ErasureModel(ABC):
    """A packet loss model with a packet view (numpy) and a tensor view (torch)."""

    @property
    @abstractmethod
    def mean_loss_rate(self) -> float:
        """The long-run fraction of packets lost (analytic)."""

    @property
    @abstractmethod
    def mean_burst_length(self) -> float:
        """The long-run mean length of a run of consecutive losses (analytic).

        0.0 when no packet is ever lost, ``inf`` when every packet is.
        """

    @property
    @abstractmethod
    def stationary_bad(self) -> float:
        """P(Bad) in the stationary distribution (0.0 for a memoryless model)."""

    @abstractmethod
    def _advance(self, n: int, rng: np.random.Generator, bad: bool) -> tuple[np.ndarray, bool]:
        """Losses of the next ``n`` packets from state ``bad``, and the state after them."""

    @abstractmethod
    def sample_lost_tensor(
        self, batch: int, packets: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        """Independent loss patterns for ``batch`` frames of ``packets`` packets: ``(B, P)`` bool, True = lost.

        Each frame starts from the stationary distribution. Draws come from
        ``generator`` (torch's global generator when None) on its own device and
        land on ``device``.
        """

    def start(self, rng: np.random.Generator, bad: bool | None = None) -> "LossProcess":
        """A running loss process over one packet stream; ``bad=None`` draws the state from stationarity."""
        if bad is None:
            bad = bool(rng.random() < self.stationary_bad)
        return LossProcess(self, rng, bad)

    def sample_lost(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Losses of ``n`` packets of a fresh stream, ``(n,)`` bool, True = lost."""
        return self.start(rng).sample_lost(n)

    def erase_rows(
        self, x: torch.Tensor, rows_per_packet: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero the rows of lost packets: ``x (B, C, H, W)`` → ``(x_erased, lost_rows (B, H) bool)``.

        Differentiable w.r.t. ``x``: identity on kept rows, zero on lost ones.
        """
        if x.dim() != 4:
            raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
        packets = packet_count(x.shape[2], rows_per_packet)
        lost = self.sample_lost_tensor(x.shape[0], packets, generator, x.device)
        return erase_packets(x, lost, rows_per_packet)


class LossProcess:
    """One packet stream through an erasure model; successive calls continue the stream.

    For Gilbert–Elliott the chain's state carries from call to call, as it does
    across packets in netem. Splitting a stream into calls changes which random
    numbers are drawn, not the statistics.
    """

    def __init__(self, model: ErasureModel, rng: np.random.Generator, bad: bool = False) -> None:
        self.model = model
        self.rng = rng
        self.bad = bad

    def sample_lost(self, n: int) -> np.ndarray:
        """Losses of the next ``n`` packets, ``(n,)`` bool, True = lost."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        lost, self.bad = self.model._advance(n, self.rng, self.bad)
        return lost

    def drop(self, packets: tuple[Packet, ...] | list[Packet]) -> tuple[tuple[Packet, ...], ChannelReport]:
        """The packets that survive, in order, and a report of how many were dropped."""
        lost = self.sample_lost(len(packets))
        kept = tuple(packet for packet, gone in zip(packets, lost) if not gone)
        return kept, ChannelReport(packets_in=len(packets), packets_dropped=int(lost.sum()))


@dataclass(frozen=True)
class Bernoulli(ErasureModel):
    """Each packet is lost independently with probability ``p``."""

    p: float

    def __post_init__(self) -> None:
        check_probability("p", self.p)

    @property
    def mean_loss_rate(self) -> float:
        return float(self.p)

    @property
    def mean_burst_length(self) -> float:
        if self.p == 0:
            return 0.0
        return math.inf if self.p == 1 else 1.0 / (1.0 - self.p)

    @property
    def stationary_bad(self) -> float:
        return 0.0

    def _advance(self, n: int, rng: np.random.Generator, bad: bool) -> tuple[np.ndarray, bool]:
        return rng.random(n) < self.p, bad

    def sample_lost_tensor(
        self, batch: int, packets: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        return uniform((batch, packets), generator, torch.device(device)) < self.p


@dataclass(frozen=True)
class GilbertElliott(ErasureModel):
    """netem's Gilbert–Elliott loss: ``p`` = P(G→B), ``r`` = P(B→G), ``1-h`` = P(loss | B), ``1-k`` = P(loss | G)."""

    p: float
    r: float
    h: float = 0.0
    k: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p", "r", "h", "k"):
            check_probability(name, getattr(self, name))
        if self.p + self.r == 0:
            raise ValueError("p and r are both 0: the chain never changes state; set r > 0 to leave Bad")

    @classmethod
    def bursts(cls, loss: float, mean_burst: float) -> "GilbertElliott":
        """The simple Gilbert model losing ``loss`` of all packets in bursts of ``mean_burst`` on average:
        ``r = 1 / mean_burst``, ``p = loss * r / (1 - loss)``."""
        if not 0 <= loss < 1:
            raise ValueError(f"a bursty loss rate must be in [0, 1), got {loss}: a burst ends when a packet gets through")
        if mean_burst < 1:
            raise ValueError(f"a mean burst is at least 1 packet, got {mean_burst:g}")
        r = 1.0 / mean_burst
        return cls(p=min(loss * r / (1 - loss), 1.0), r=r)

    @property
    def loss_good(self) -> float:
        return 1.0 - self.k

    @property
    def loss_bad(self) -> float:
        return 1.0 - self.h

    @property
    def stationary_bad(self) -> float:
        return self.p / (self.p + self.r)

    @property
    def mean_loss_rate(self) -> float:
        bad = self.stationary_bad
        return (1.0 - bad) * self.loss_good + bad * self.loss_bad

    @property
    def mean_burst_length(self) -> float:
        # Long-run losses per packet over burst starts per packet, P(L) / P(no loss, then loss).
        loss = self.mean_loss_rate
        if loss == 0:
            return 0.0
        pi = {False: 1.0 - self.stationary_bad, True: self.stationary_bad}
        lose = {False: self.loss_good, True: self.loss_bad}
        move = {(False, True): self.p, (False, False): 1 - self.p, (True, False): self.r, (True, True): 1 - self.r}
        starts = sum(pi[s] * (1 - lose[s]) * move[s, t] * lose[t] for s in pi for t in pi)
        return math.inf if starts == 0 else loss / starts

    def _advance(self, n: int, rng: np.random.Generator, bad: bool) -> tuple[np.ndarray, bool]:
        # Sojourns are geometric, so draw whole runs of states rather than one step at a time.
        # The state after the last packet is the state of position n; truncating a run is
        # exact because sojourns are memoryless.
        need = n + 1
        leave = np.array([self.p, self.r])  # indexed by state: 0 = Good, 1 = Bad
        cycle = sum(1.0 / q if q > 0 else math.inf for q in leave)
        states_chunks, filled, state = [], 0, int(bad)
        while filled < need:
            runs = 2 * math.ceil((need - filled) / cycle) + 2 if math.isfinite(cycle) else 2
            run_states = (state + np.arange(runs)) % 2
            q = leave[run_states]
            lengths = np.where(q > 0, rng.geometric(np.where(q > 0, q, 1.0)), need)
            lengths = np.minimum(lengths, need - filled)
            chunk = np.repeat(run_states.astype(bool), lengths)[: need - filled]
            states_chunks.append(chunk)
            filled += chunk.size
            state = (state + runs) % 2
        states = np.concatenate(states_chunks)
        loss_prob = np.where(states[:n], self.loss_bad, self.loss_good)
        return rng.random(n) < loss_prob, bool(states[n])

    def sample_lost_tensor(
        self, batch: int, packets: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> torch.Tensor:
        device = torch.device(device)
        draws = uniform((batch, packets + 1, 2), generator, device)
        bad = draws[:, -1, 0] < self.stationary_bad
        lost = torch.empty((batch, packets), dtype=torch.bool, device=device)
        for t in range(packets):  # P is small (rows per latent / rows per packet)
            lost[:, t] = draws[:, t, 0] < torch.where(bad, self.loss_bad, self.loss_good)
            bad = bad ^ (draws[:, t, 1] < torch.where(bad, self.r, self.p))
        return lost

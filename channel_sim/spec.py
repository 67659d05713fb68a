"""The channel a proxy applies, as one validated model: the packet channel plus the network impairments.

The same names serve the environment (``SEMLINK_CH_LOSS=0.3``) and the REST body
(``{"loss": 0.3}``); :meth:`ChannelSpec.channel_config` and
:meth:`ChannelSpec.network_config` turn it into the core configs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from semlink.http.bodies import JsonInt
from semlink.packets.transport import MAX_OVERHEAD

if TYPE_CHECKING:  # imported where used: the channel brings torch, and --help should not wait for it
    from semlink.channel import ChannelConfig
    from semlink.channel.network import NetworkConfig


# sane maxima: past these a setting only holds frames (and memory) for hours or overflows the BER formula
MAX_DELAY_MS = 60_000.0
MIN_RATE_KBPS = 1.0
MAX_RATE_KBPS = 100_000_000.0
MIN_SNR_DB, MAX_SNR_DB = -50.0, 100.0


class ChannelSpec(BaseModel):
    """What the proxy does to each frame message. ``loss_model`` unset means: ``bernoulli`` when
    ``loss`` > 0, ``gilbert_elliott`` when ``ge_p`` > 0, else ``none``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    loss_model: Literal["none", "bernoulli", "gilbert_elliott"] | None = Field(
        None, description="packet loss model: none, bernoulli (LOSS), gilbert_elliott (GE_*)")
    loss: float = Field(0.0, ge=0.0, le=1.0, description="Bernoulli packet loss probability")
    ge_p: float = Field(0.0, ge=0.0, le=1.0, description="Gilbert-Elliott P(good -> bad) per packet (netem p)")
    ge_r: float = Field(1.0, ge=0.0, le=1.0, description="Gilbert-Elliott P(bad -> good) per packet (netem r)")
    ge_h: float = Field(0.0, ge=0.0, le=1.0, description="Gilbert-Elliott P(deliver | bad) (netem 1-h is loss)")
    ge_k: float = Field(1.0, ge=0.0, le=1.0, description="Gilbert-Elliott P(deliver | good) (netem 1-k is loss)")
    ber: float | None = Field(None, ge=0.0, le=1.0, description="bit error rate on payload bits (or set SNR_DB)")
    snr_db: float | None = Field(None, ge=MIN_SNR_DB, le=MAX_SNR_DB,
                                 description="Es/N0 per BPSK symbol in dB; BER derived over FADING")
    fading: Literal["awgn", "rayleigh"] = Field("awgn", description="awgn or rayleigh, for SNR_DB")
    seed: JsonInt = Field(0, ge=0, description="seed of every random draw of the channel")
    delay_ms: float = Field(0.0, ge=0.0, le=MAX_DELAY_MS, description="added delay per frame message, ms")
    jitter_ms: float = Field(0.0, ge=0.0, le=MAX_DELAY_MS, description="uniform jitter around DELAY_MS, ms "
                             "(keeps order)")
    rate_kbps: float = Field(0.0, ge=0.0, le=MAX_RATE_KBPS, description=f"bandwidth cap in kbit/s (token bucket), "
                             f"at least {MIN_RATE_KBPS:g}; 0 = unlimited",
                             json_schema_extra={"anyOf": [{"const": 0}, {"minimum": MIN_RATE_KBPS}]})
    duplicate: float = Field(0.0, ge=0.0, le=1.0, description="probability a frame message is sent twice")
    reorder: float = Field(0.0, ge=0.0, le=1.0, description="probability a frame message swaps with the next")
    datagram_overhead: JsonInt = Field(0, ge=0, le=MAX_OVERHEAD, description="transport bytes counted per datagram "
                                   "into wire_bytes: 0 the link as simulated, 28 UDP/IPv4, 40 RTP/UDP/IPv4, 60 "
                                   "RTP/UDP/IPv6; stamped on every frame forwarded, so the receiver counts the same")

    @model_validator(mode="after")
    def _consistent(self) -> ChannelSpec:
        if 0 < self.rate_kbps < MIN_RATE_KBPS:
            raise ValueError(f"rate_kbps={self.rate_kbps:g} is below the minimum of {MIN_RATE_KBPS:g} kbit/s "
                             "(a frame would take hours); use 0 for unlimited")
        if self.loss and self.loss_model not in (None, "bernoulli"):
            raise ValueError(f"loss={self.loss} is the Bernoulli loss probability; with loss_model="
                             f"{self.loss_model!r} leave loss at 0 (Gilbert-Elliott uses ge_p, ge_r, ge_h, ge_k)")
        self.channel_config()  # raises ValueError naming the field for any other inconsistency
        self.network_config()
        return self

    @property
    def resolved_loss_model(self) -> str:
        if self.loss_model is not None:
            return self.loss_model
        if self.loss > 0:
            return "bernoulli"
        return "gilbert_elliott" if self.ge_p > 0 else "none"

    def channel_config(self) -> ChannelConfig:
        from semlink.channel import ChannelConfig

        return ChannelConfig(
            loss=self.resolved_loss_model, loss_p=self.loss, ge_p=self.ge_p, ge_r=self.ge_r, ge_h=self.ge_h,
            ge_k=self.ge_k, ber=self.ber, snr_db=self.snr_db, fading=self.fading, seed=self.seed,
        )

    def network_config(self) -> NetworkConfig:
        from semlink.channel.network import NetworkConfig

        return NetworkConfig(
            delay_ms=self.delay_ms, jitter_ms=self.jitter_ms, rate_kbps=self.rate_kbps,
            duplicate=self.duplicate, reorder=self.reorder, seed=self.seed,
        )

    def spec_dict(self) -> dict:
        """The spec's own fields (without service settings that may share the model)."""
        return self.model_dump(include=set(ChannelSpec.model_fields))


def _change_field(name: str):
    """``name``'s type and bounds, not required, with no default shown: a change leaves an absent field as it is."""
    field = ChannelSpec.model_fields[name]
    info = Field(default=None, description=field.description, json_schema_extra=field.json_schema_extra)
    info.metadata = list(field.metadata)  # ge / le bounds
    return field.annotation, info


@dataclass(frozen=True)
class Clash:
    """Fields a change may not set together: ``when`` says so of the fields set, ``schema`` (for the OpenAPI's
    ``not``) says the same in JSON Schema, ``why`` says what to do instead."""

    why: str
    schema: dict
    when: Callable[[dict], bool]


CLASHES = (
    Clash("set ber or snr_db, not both (the other null or absent)",
          {"required": ["ber", "snr_db"], "properties": {"ber": {"type": "number"}, "snr_db": {"type": "number"}}},
          lambda c: c.get("ber") is not None and c.get("snr_db") is not None),
    Clash("loss is the Bernoulli loss probability: with loss above 0, loss_model is bernoulli, null or absent "
          "(Gilbert-Elliott uses ge_p, ge_r, ge_h, ge_k)",
          {"required": ["loss", "loss_model"],
           "properties": {"loss": {"exclusiveMinimum": 0}, "loss_model": {"enum": ["none", "gilbert_elliott"]}}},
          lambda c: c.get("loss", 0) > 0 and c.get("loss_model") in ("none", "gilbert_elliott")),
    Clash("loss_model gilbert_elliott with ge_p and ge_r both 0 never changes state: set ge_r (or ge_p) above 0",
          {"required": ["loss_model", "ge_p", "ge_r"],
           "properties": {"loss_model": {"const": "gilbert_elliott"}, "ge_p": {"maximum": 0}, "ge_r": {"maximum": 0}}},
          lambda c: c.get("loss_model") == "gilbert_elliott" and c.get("ge_p", 1) == 0 and c.get("ge_r", 1) == 0),
)


def _change_schema(schema: dict) -> None:
    for prop in schema["properties"].values():
        prop.pop("default", None)  # absent means "keep", not null
    schema["allOf"] = [{"description": clash.why, "not": clash.schema} for clash in CLASHES]
    schema["examples"] = [{"loss": 0.1, "ber": 1e-5, "delay_ms": 20, "jitter_ms": 5}]


class _ChangeRules(BaseModel):
    """What a change must be by itself (:data:`CLASHES`, and ``rate_kbps`` 0 or at least ``MIN_RATE_KBPS``);
    whether it fits the channel it changes is the route's to say (409)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=_change_schema)

    @model_validator(mode="after")
    def _self_consistent(self) -> _ChangeRules:
        given = self.model_dump(exclude_unset=True)
        rate = given.get("rate_kbps")
        if rate is not None and 0 < rate < MIN_RATE_KBPS:
            raise ValueError(f"rate_kbps={rate:g} is below the minimum of {MIN_RATE_KBPS:g} kbit/s "
                             "(a frame would take hours); use 0 for unlimited")
        for clash in CLASHES:
            if clash.when(given):
                raise ValueError(clash.why)
        return self


ChannelChange = create_model(
    "ChannelChange",
    __doc__="The fields of a ChannelSpec to change (``PUT /v1/channel``); the rest keep their values. Strict: "
            "an unknown field or a number given as a boolean or a string is refused (422), and so is a change "
            "whose own fields make no channel (each rule under allOf); one that clashes with the channel it "
            "changes is 409.",
    __base__=_ChangeRules,
    **{name: _change_field(name) for name in ChannelSpec.model_fields},
)

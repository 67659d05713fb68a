"""The learned prior's integer tables and the range coder: exact round trips, exact tables, safe decoding."""

from __future__ import annotations

import constriction
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.torch import load_file, save_file

from semlink.entropy import CdfTables, EntropyDecodeError, decode, encode, max_stream_bytes, quantize

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# loc anywhere from inside the range to far outside; log_scale from a spike to flatter than the range
locs = st.floats(-300.0, 300.0) | st.sampled_from([0.0, 0.5, -0.5, 127.5, -128.5])
log_scales = st.floats(-30.0, 12.0) | st.sampled_from([-30.0, -5.0, 0.0, 5.0, 12.0])


@st.composite
def tables_and_block(draw, bits=st.just(8)):
    b = draw(bits)
    c = draw(st.integers(1, 16))
    rows, w = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    loc = draw(st.lists(locs, min_size=c, max_size=c))
    log_scale = draw(st.lists(log_scales, min_size=c, max_size=c))
    tables = CdfTables.from_logistic(np.array(loc), np.array(log_scale), b)
    if draw(st.booleans()):  # any symbols, hypothesis' favourites (all 0, all max) included
        block = draw(hnp.arrays(np.uint8, (c, rows, w), elements=st.integers(0, 2**b - 1)))
    else:  # symbols from the prior itself
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        block = np.stack([rng.choice(2**b, size=(rows, w), p=f / f.sum()) for f in tables.freqs]).astype(np.uint8)
    return tables, block


def from_prior(tables: CdfTables, shape, rng) -> np.ndarray:
    return np.stack([rng.choice(tables.symbols, size=shape, p=f / f.sum()) for f in tables.freqs]).astype(np.uint8)


def assert_round_trip(tables: CdfTables, block: np.ndarray) -> bytes:
    data = encode(tables, block)
    assert isinstance(data, bytes) and not data.endswith(b"\x00")
    assert len(data) <= max_stream_bytes(tables, block.shape[1] * block.shape[2])
    out = decode(tables, data, block.shape)
    assert out.dtype == np.uint8 and out.shape == block.shape
    np.testing.assert_array_equal(out, block)
    return data


@FAST
@given(tables_and_block())
def test_round_trip_is_bit_exact(case):
    assert_round_trip(*case)


@FAST
@given(tables_and_block(bits=st.integers(1, 7)))
def test_round_trip_with_fewer_bits(case):
    assert_round_trip(*case)


@pytest.mark.parametrize("log_scale", [-30.0, -3.0, 0.0, 3.0, 12.0])
@pytest.mark.parametrize("loc", [0.0, 0.5, -100.0, 400.0])
def test_adversarial_blocks_round_trip(loc, log_scale):
    c = 5
    tables = CdfTables.from_logistic(np.full(c, loc) + np.arange(c), np.full(c, log_scale), 8)
    rarest_first = np.argmin(tables.freqs, axis=1)
    rarest_last = tables.symbols - 1 - np.argmin(tables.freqs[:, ::-1], axis=1)
    for block in (
        np.zeros((c, 4, 8), np.uint8),
        np.full((c, 4, 8), 255, np.uint8),
        np.broadcast_to(rarest_first[:, None, None], (c, 4, 8)).astype(np.uint8),
        np.broadcast_to(rarest_last[:, None, None], (c, 4, 8)).astype(np.uint8),
        np.broadcast_to(np.argmax(tables.freqs, axis=1)[:, None, None], (c, 4, 8)).astype(np.uint8),
    ):
        assert_round_trip(tables, block)


def test_empty_block_is_empty_bytes():
    tables = CdfTables.from_logistic(np.zeros(3), np.zeros(3), 8)
    assert encode(tables, np.zeros((3, 0, 4), np.uint8)) == b""
    assert decode(tables, b"", (3, 0, 4)).shape == (3, 0, 4)
    with pytest.raises(EntropyDecodeError):
        decode(tables, b"\x01", (3, 0, 4))


@FAST
@given(st.lists(locs, min_size=1, max_size=16), st.data(), st.integers(1, 8))
def test_tables_are_exact(loc, data, bits):
    log_scale = data.draw(st.lists(log_scales, min_size=len(loc), max_size=len(loc)))
    tables = CdfTables.from_logistic(np.array(loc), np.array(log_scale), bits)
    assert tables.freqs.shape == (len(loc), 2**bits)
    assert (tables.freqs >= 1).all()
    assert (tables.freqs.sum(axis=1) == 2**16).all()
    again = CdfTables.from_logistic(np.array(loc), np.array(log_scale), bits)
    assert again == tables and again.identity() == tables.identity()


def test_tables_follow_the_logistic():
    loc, log_scale = np.array([0.0, 3.25, -40.0]), np.array([0.0, 1.5, 2.5])
    tables = CdfTables.from_logistic(loc, log_scale, 8)
    y = np.arange(256)[None, :] - 128.0
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    s = np.exp(log_scale)[:, None]
    p = sigmoid((y + 0.5 - loc[:, None]) / s) - sigmoid((y - 0.5 - loc[:, None]) / s)
    p[:, 0] += sigmoid((-128.5 - loc) / s[:, 0])
    p[:, -1] += 1 - sigmoid((127.5 - loc) / s[:, 0])
    assert np.abs(tables.freqs - 1 - p * (2**16 - 256)).max() <= 1  # 1 each, the rest in proportion


def test_quantize_keeps_every_symbol_and_refuses_nonsense():
    freqs = quantize(np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]), precision=4)
    np.testing.assert_array_equal(freqs, [[13, 1, 1, 1], [4, 4, 4, 4]])
    for bad in ([[0.0, 0.0]], [[np.nan, 1.0]], [[-0.5, 1.0]]):
        with pytest.raises(ValueError):
            quantize(np.array(bad))


def test_bad_tables_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="sum to 2\\*\\*16"):
        CdfTables(np.full((2, 4), 2**14 + 1))
    with pytest.raises(ValueError, match=">= 1"):
        CdfTables(np.array([[2**16, 0, 0, 0]]))
    with pytest.raises(ValueError, match="2\\*\\*bits"):
        CdfTables(np.full((1, 3), 3), precision=2)
    with pytest.raises(ValueError, match="precision"):
        CdfTables(np.full((1, 4), 2**23), precision=25)
    with pytest.raises(ValueError, match="non-finite"):
        CdfTables.from_logistic(np.array([np.nan]), np.zeros(1), 8)


def test_identity_is_stable_and_names_the_tables():
    uniform = CdfTables(np.full((2, 4), 2**14))  # sha256 of the little-endian int32 table, then the precision byte
    assert uniform.identity() == "cdf16:bd6e5d3116b7fd99"
    changed = uniform.freqs.copy()
    changed[1, :2] += [1, -1]
    assert CdfTables(changed).identity() != uniform.identity()
    assert CdfTables(np.full((2, 4), 2**20), precision=22).identity() != uniform.identity()


def test_tables_survive_a_safetensors_checkpoint(tmp_path):
    tables = CdfTables.from_logistic(np.linspace(-3, 3, 7), np.linspace(-2, 4, 7), 8)
    save_file(tables.to_tensors(), str(tmp_path / "t.safetensors"))
    loaded = load_file(str(tmp_path / "t.safetensors"))
    assert str(loaded["entropy_tables.freqs"].dtype) == "torch.int32"
    back = CdfTables.from_tensors(loaded)
    assert back == tables and back.identity() == tables.identity()
    assert CdfTables.from_array(tables.to_array()) == tables
    with pytest.raises(ValueError, match="no entropy tables"):
        CdfTables.from_tensors({})


def test_constriction_models_are_the_tables_exactly():
    """Probe each model's 24-bit quantile function: symbol i owns exactly ``[cum_i, cum_i + freq_i) * 2**8``."""
    tables = CdfTables.from_logistic(np.array([0.0, 7.5]), np.array([-1.0, 2.0]), 8)

    def symbol_at(model, quantile):
        return int(constriction.stream.stack.AnsCoder(np.array([quantile | 1 << 24], np.uint32)).decode(model))

    for freqs, model in zip(tables.freqs, tables.models()):
        edges = np.concatenate([[0], np.cumsum(freqs)]) * 2**8
        for i in range(tables.symbols):
            assert symbol_at(model, int(edges[i])) == i and symbol_at(model, int(edges[i + 1]) - 1) == i


def test_coded_size_is_the_ideal_code_length():
    rng = np.random.default_rng(7)
    tables = CdfTables.from_logistic(rng.normal(0, 2, 12), rng.uniform(-1, 3, 12), 8)
    over = []
    for _ in range(100):
        block = from_prior(tables, (4, 4), rng)  # 192 symbols
        ideal = tables.bits(block) / 8
        over.append(len(assert_round_trip(tables, block)) - ideal)
    assert max(over) <= 1.1  # at most a few bits, plus rounding to a byte
    assert -0.5 < np.mean(over) < 0.6


def test_bits_is_minus_log2_of_the_table():
    tables = CdfTables(np.array([[2**15, 2**14, 2**13, 2**13]]))
    assert tables.bits(np.array([[[0, 1], [2, 3]]], np.uint8)) == 1 + 2 + 3 + 3
    np.testing.assert_allclose(tables.entropy(), [1.75])


def test_bad_symbols_are_refused_with_a_reason():
    tables = CdfTables.from_logistic(np.zeros(2), np.zeros(2), 4)
    with pytest.raises(ValueError, match="outside"):
        encode(tables, np.full((2, 1, 1), 16, np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        encode(tables, np.zeros((2, 1, 1), np.int64))
    with pytest.raises(ValueError, match="one row per table"):
        encode(tables, np.zeros((3, 1, 1), np.uint8))
    with pytest.raises(ValueError, match="block"):
        encode(tables, np.zeros((2, 4), np.uint8))
    with pytest.raises(EntropyDecodeError, match="channels"):
        decode(tables, b"\x01", (3, 1, 1))


damage = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4)),
    st.tuples(st.just("cut"), st.integers(0, 10**6)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=12)),
    st.tuples(st.just("replace"), st.binary(max_size=80)),
)


@FAST
@given(tables_and_block(), damage)
def test_damaged_streams_raise_or_decode_to_the_right_shape(case, change):
    tables, block = case
    data = bytearray(encode(tables, block))
    kind, arg = change
    if kind == "flip":
        for at, mask in arg:
            if data:
                data[at % len(data)] ^= mask
    elif kind == "cut":
        del data[arg % (len(data) + 1):]
    elif kind == "append":
        data += arg
    else:
        data = bytearray(arg)
    try:
        out = decode(tables, bytes(data), block.shape)
    except EntropyDecodeError:
        return
    assert out.shape == block.shape and out.dtype == np.uint8

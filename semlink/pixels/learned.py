"""The ``learned-pixels`` peer: the model's input image sent with the learned pixel codec, as ``semlink eval`` sends peers.

Its operating points ship beside a built-in model as ``pixels-learned.safetensors``
(the default, row ``learned-pixels``) and ``pixels-learned-<point>.safetensors``
(rows ``learned-pixels:<point>``); ``semlink/assets/shapes-tiny/PIXELS.md`` says
how each was trained. A peer runs the transmitter's processor on each image,
codes the pixels into a frame of packets, carries each frame's datagrams through
the channel with :func:`semlink.wire.carry.carry` (the very path the feature
codec's frames take, so bytes and losses count the same), decodes what arrived
with the erasure mask, and hands back the rebuilt image at the model's input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from semlink.builtin import PIXEL_DEFAULT_POINT as DEFAULT_POINT
from semlink.builtin import learned_pixel_points, model_dir, pixel_point_file as point_file
from semlink.channel import Channel
from semlink.codecs.learned_pixels import CODEC_ID, LearnedPixelCodec, load_pixel_codec, pixels_to_images
from semlink.florence import FlorenceBundle, VisionHalf
from semlink.pipeline import session_bytes
from semlink.pixels.peer import Delivery
from semlink.wire.carry import carry_frames

def peer_name(point: str) -> str:
    return CODEC_ID if point == DEFAULT_POINT else f"{CODEC_ID}:{point}"


class LearnedPixelPeer:
    """One operating point of the pixel codec as a pixel peer (``name``, ``session_bytes``, ``send``)."""

    def __init__(self, bundle: FlorenceBundle, codec: LearnedPixelCodec, name: str):
        self.bundle, self.codec, self.name = bundle, codec, name
        self.vision = VisionHalf(bundle)  # its image processor: what the transmitter feeds the vision tower
        processor = bundle.processor.image_processor
        self.mean, self.std = processor.image_mean, processor.image_std

    def _session(self, size: tuple[int, int]):
        width, height = size
        if (height, width) != tuple(self.codec.feature_shape[1:]):
            raise ValueError(f"{self.name} codes {self.codec.feature_shape[2]}x{self.codec.feature_shape[1]} "
                             f"images, the model input here is {width}x{height}; train a pixel codec for it")
        return self.codec.session(1, size)

    def session_bytes(self, size: tuple[int, int]) -> int:
        """Bytes of the session a stream of this peer opens with (once per stream), ``size`` = ``(width, height)``."""
        return session_bytes(self._session(size))

    @torch.no_grad()
    def send(self, images: Sequence[Image.Image], seqs: Sequence[int], channel: Channel | None,
             size: tuple[int, int], pack: int = 1, spread: int = 0) -> list[Delivery]:
        """Code, carry and rebuild each image (``pack`` at a time when > 1, datagrams ``spread`` slots apart);
        ``size`` is the model input's ``(width, height)``."""
        session = self._session(size)
        pixels = self.vision.pixels(images).to(self.codec.device)
        frames = self.codec.compress(pixels, [session.frame_id(int(s)) for s in seqs])
        carried = carry_frames(frames, session, channel, pack, spread)
        rebuilt, _ = self.codec.decompress([c.received for c in carried])
        return [Delivery(image=im, wire_bytes=c.wire_bytes, payload_bytes=f.payload_bytes, datagrams=c.datagrams,
                         datagrams_lost=len(c.received.lost_indices()))
                for im, f, c in zip(pixels_to_images(rebuilt, self.mean, self.std), frames, carried)]


def learned_pixel_peers(bundle: FlorenceBundle, names: list[str]) -> list[LearnedPixelPeer]:
    """Peers for ``names`` (from :func:`learned_pixel_points`, or ``["all"]``), for ``bundle``'s model."""
    shipped = learned_pixel_points(bundle.name)
    if not shipped:
        raise ValueError(f"no learned pixel codec ships beside {bundle.name!r}; train one with "
                         "`semlink train-pixels configs/pixels-shapes.yaml` and copy it there as "
                         f"{point_file(DEFAULT_POINT)}")
    wanted = shipped if list(names) == ["all"] else [DEFAULT_POINT if n in ("", DEFAULT_POINT) else n for n in names]
    unknown = [n for n in wanted if n not in shipped]
    if unknown:
        raise ValueError(f"unknown learned-pixels point(s) {unknown}; shipped beside {bundle.name}: "
                         f"{', '.join(shipped)} (or all)")
    directory = model_dir(bundle.name)
    peers = []
    for point in wanted:
        codec = load_pixel_codec(directory / point_file(point), fingerprint=bundle.fingerprint)
        peers.append(LearnedPixelPeer(bundle, codec.to(bundle.device), peer_name(point)))
    return peers

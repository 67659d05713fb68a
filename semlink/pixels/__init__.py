"""Pixel peers: the image itself sent as a streaming system sends it (JPEG scan, VP8 frame, AV1 OBUs, learned pixels)."""

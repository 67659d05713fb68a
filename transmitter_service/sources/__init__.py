"""Where the transmitter's frames come from besides uploads: the shapes stream, a folder loop, a video file or RTSP.

``base`` (what a source is) imports nothing heavy; ``runner`` (which runs one) imports the sources themselves.
"""

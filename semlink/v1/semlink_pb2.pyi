from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FrameHeader(_message.Message):
    __slots__ = ("frame_id", "codec", "fingerprint", "shape", "dtype", "packet_count", "rows_per_packet", "feature_shape", "scale", "offset", "entropy_coder", "version", "sent_at_ns", "meta")
    class MetaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    PACKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROWS_PER_PACKET_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SHAPE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    ENTROPY_CODER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_NS_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    frame_id: int
    codec: str
    fingerprint: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    packet_count: int
    rows_per_packet: int
    feature_shape: _containers.RepeatedScalarFieldContainer[int]
    scale: _containers.RepeatedScalarFieldContainer[float]
    offset: _containers.RepeatedScalarFieldContainer[float]
    entropy_coder: str
    version: int
    sent_at_ns: int
    meta: _containers.ScalarMap[str, str]
    def __init__(self, frame_id: _Optional[int] = ..., codec: _Optional[str] = ..., fingerprint: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., packet_count: _Optional[int] = ..., rows_per_packet: _Optional[int] = ..., feature_shape: _Optional[_Iterable[int]] = ..., scale: _Optional[_Iterable[float]] = ..., offset: _Optional[_Iterable[float]] = ..., entropy_coder: _Optional[str] = ..., version: _Optional[int] = ..., sent_at_ns: _Optional[int] = ..., meta: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Packet(_message.Message):
    __slots__ = ("frame_id", "index", "row_start", "row_stop", "payload", "crc32")
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ROW_START_FIELD_NUMBER: _ClassVar[int]
    ROW_STOP_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CRC32_FIELD_NUMBER: _ClassVar[int]
    frame_id: int
    index: int
    row_start: int
    row_stop: int
    payload: bytes
    crc32: int
    def __init__(self, frame_id: _Optional[int] = ..., index: _Optional[int] = ..., row_start: _Optional[int] = ..., row_stop: _Optional[int] = ..., payload: _Optional[bytes] = ..., crc32: _Optional[int] = ...) -> None: ...

class FrameMessage(_message.Message):
    __slots__ = ("header", "packets")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    header: FrameHeader
    packets: _containers.RepeatedCompositeFieldContainer[Packet]
    def __init__(self, header: _Optional[_Union[FrameHeader, _Mapping]] = ..., packets: _Optional[_Iterable[_Union[Packet, _Mapping]]] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("frame_id", "status", "detail")
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    frame_id: int
    status: str
    detail: str
    def __init__(self, frame_id: _Optional[int] = ..., status: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LossReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOSS_NONE: _ClassVar[LossReason]
    LOSS_GAP: _ClassVar[LossReason]
    LOSS_CORRUPTED: _ClassVar[LossReason]
    LOSS_CONNECTION_LOST: _ClassVar[LossReason]
    LOSS_SENDER_CLOSED: _ClassVar[LossReason]
    LOSS_ACK_TIMEOUT: _ClassVar[LossReason]
    LOSS_QUEUE_FULL: _ClassVar[LossReason]
    LOSS_CHANNEL_SIM: _ClassVar[LossReason]
    LOSS_UPSTREAM: _ClassVar[LossReason]
LOSS_NONE: LossReason
LOSS_GAP: LossReason
LOSS_CORRUPTED: LossReason
LOSS_CONNECTION_LOST: LossReason
LOSS_SENDER_CLOSED: LossReason
LOSS_ACK_TIMEOUT: LossReason
LOSS_QUEUE_FULL: LossReason
LOSS_CHANNEL_SIM: LossReason
LOSS_UPSTREAM: LossReason

class Session(_message.Message):
    __slots__ = ("version", "session_id", "codec", "codec_config", "fingerprint", "entropy_model", "entropy_coder", "feature_shape", "latent_shape", "dtype", "rows_per_packet", "scale", "offset", "side_info", "check", "image_width", "image_height", "domain", "stream_header", "pack")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    CODEC_CONFIG_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ENTROPY_MODEL_FIELD_NUMBER: _ClassVar[int]
    ENTROPY_CODER_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SHAPE_FIELD_NUMBER: _ClassVar[int]
    LATENT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    ROWS_PER_PACKET_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIDE_INFO_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    IMAGE_WIDTH_FIELD_NUMBER: _ClassVar[int]
    IMAGE_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    STREAM_HEADER_FIELD_NUMBER: _ClassVar[int]
    PACK_FIELD_NUMBER: _ClassVar[int]
    version: int
    session_id: int
    codec: str
    codec_config: str
    fingerprint: str
    entropy_model: str
    entropy_coder: str
    feature_shape: _containers.RepeatedScalarFieldContainer[int]
    latent_shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    rows_per_packet: int
    scale: _containers.RepeatedScalarFieldContainer[float]
    offset: _containers.RepeatedScalarFieldContainer[float]
    side_info: bool
    check: str
    image_width: int
    image_height: int
    domain: str
    stream_header: bytes
    pack: int
    def __init__(self, version: _Optional[int] = ..., session_id: _Optional[int] = ..., codec: _Optional[str] = ..., codec_config: _Optional[str] = ..., fingerprint: _Optional[str] = ..., entropy_model: _Optional[str] = ..., entropy_coder: _Optional[str] = ..., feature_shape: _Optional[_Iterable[int]] = ..., latent_shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., rows_per_packet: _Optional[int] = ..., scale: _Optional[_Iterable[float]] = ..., offset: _Optional[_Iterable[float]] = ..., side_info: _Optional[bool] = ..., check: _Optional[str] = ..., image_width: _Optional[int] = ..., image_height: _Optional[int] = ..., domain: _Optional[str] = ..., stream_header: _Optional[bytes] = ..., pack: _Optional[int] = ...) -> None: ...

class SessionReply(_message.Message):
    __slots__ = ("session_id", "accepted", "reason", "detail")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    session_id: int
    accepted: bool
    reason: str
    detail: str
    def __init__(self, session_id: _Optional[int] = ..., accepted: _Optional[bool] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class FramePackets(_message.Message):
    __slots__ = ("packets", "datagram_overhead")
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    DATAGRAM_OVERHEAD_FIELD_NUMBER: _ClassVar[int]
    packets: _containers.RepeatedScalarFieldContainer[bytes]
    datagram_overhead: int
    def __init__(self, packets: _Optional[_Iterable[bytes]] = ..., datagram_overhead: _Optional[int] = ...) -> None: ...

class SenderReport(_message.Message):
    __slots__ = ("last_frame_id",)
    LAST_FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    last_frame_id: int
    def __init__(self, last_frame_id: _Optional[int] = ...) -> None: ...

class Uplink(_message.Message):
    __slots__ = ("session", "frame", "report")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    session: Session
    frame: FramePackets
    report: SenderReport
    def __init__(self, session: _Optional[_Union[Session, _Mapping]] = ..., frame: _Optional[_Union[FramePackets, _Mapping]] = ..., report: _Optional[_Union[SenderReport, _Mapping]] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("frame_id", "status", "detail", "loss", "datagram_overhead")
    FRAME_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    DATAGRAM_OVERHEAD_FIELD_NUMBER: _ClassVar[int]
    frame_id: int
    status: str
    detail: str
    loss: LossReason
    datagram_overhead: int
    def __init__(self, frame_id: _Optional[int] = ..., status: _Optional[str] = ..., detail: _Optional[str] = ..., loss: _Optional[_Union[LossReason, str]] = ..., datagram_overhead: _Optional[int] = ...) -> None: ...

class Downlink(_message.Message):
    __slots__ = ("session", "ack")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    session: SessionReply
    ack: Ack
    def __init__(self, session: _Optional[_Union[SessionReply, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ...) -> None: ...

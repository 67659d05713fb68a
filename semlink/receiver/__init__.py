"""The receiver's core, without HTTP or gRPC: reassembly, decoding, the feature store, batching, events."""

from semlink.batching import BatchTiming, DynamicBatcher, Overloaded
from semlink.receiver.engine import FrameDecoder, TaskJob, TaskRunner, jsonable
from semlink.receiver.events import Event, EventBus
from semlink.receiver.ingest import AckOutcome, FrameIngest, SessionDecision
from semlink.receiver.reassembly import Reassembled, Reassembler
from semlink.receiver.store import FeatureStore, ReceivedFrame

__all__ = [
    "AckOutcome", "BatchTiming", "DynamicBatcher", "Event", "EventBus", "FeatureStore",
    "FrameDecoder", "FrameIngest", "Overloaded", "Reassembled", "Reassembler", "ReceivedFrame", "SessionDecision",
    "TaskJob", "TaskRunner", "jsonable",
]

"""Long runs of a live link: steady traffic, frame accounting, receiver answers and service memory over time."""

from semlink.soak.answers import ReceiverAnswers
from semlink.soak.ledger import FrameLedger
from semlink.soak.rss import RssSeries, pid_listening_on, rss_kib
from semlink.soak.run import SoakConfig, run_soak
from semlink.soak.traffic import Traffic

__all__ = ["FrameLedger", "ReceiverAnswers", "RssSeries", "SoakConfig", "Traffic", "pid_listening_on", "rss_kib",
           "run_soak"]

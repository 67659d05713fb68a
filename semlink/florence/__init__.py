"""Florence-2, loaded for real and split at its seam."""

from semlink.florence.loading import FlorenceBundle, ModelLoadError, available_models, load_florence
from semlink.florence.split import (
    LanguageHalf,
    PromptTooLong,
    TaskRequest,
    UnknownTask,
    VisionHalf,
    check_task,
    known_tasks,
)

__all__ = [
    "FlorenceBundle", "LanguageHalf", "ModelLoadError", "PromptTooLong", "TaskRequest", "UnknownTask", "VisionHalf",
    "available_models", "check_task", "known_tasks", "load_florence",
]

"""semlink: carry Florence-2's vision features, not pixels, across an imperfect link."""

__version__ = "0.1.0"

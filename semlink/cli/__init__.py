"""The ``semlink`` command line."""

"""Test support, imported as ``tests.helpers.<module>``: doubles for the link (:mod:`tests.helpers.link`)."""

"""Test models for deepserve, registered as ``deepserve.model`` entry points."""

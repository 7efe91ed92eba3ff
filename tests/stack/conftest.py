"""Tests on the real local stack; the fixtures live in tests/stack_services.py."""

from tests.stack_services import KAFKA, settings_env

__all__ = ["KAFKA", "settings_env"]

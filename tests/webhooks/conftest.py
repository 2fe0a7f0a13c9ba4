"""Counts go to the database here too (the fixture is billing's)."""

from tests.billing.conftest import _metering_in_the_database  # noqa: F401

import pytest


@pytest.fixture(autouse=True)
def _metering_in_the_database(settings):
    """Counts go straight to the database unless a test asks for Redis (`redis_metering`), whatever REDIS_URL is."""
    settings.METERING_REDIS_URL = ""

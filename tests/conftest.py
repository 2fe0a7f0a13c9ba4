import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tenants.models import Role
from tests.conversations.widget_socket_support import ORIGIN, SHOP_SETTINGS
from tests.factories import BotFactory, TenantFactory, api_key_for, signed_in_member
from tests.trained_bot import activate_trained_version


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    settings.UPLOADS_ROOT = tmp_path / "uploads"
    settings.ARTIFACTS_ROOT = tmp_path / "artifacts"


@pytest.fixture(autouse=True)
def _tasks_run_in_process_unless_integration(request):
    """Unit tests run tasks eagerly; integration tests send them through a real broker."""
    eager = request.node.get_closest_marker("integration") is None
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = eager


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def owner_client(tenant):
    return signed_in_member(APIClient(), tenant, Role.OWNER)


@pytest.fixture
def admin_client(tenant):
    return signed_in_member(APIClient(), tenant, Role.ADMIN)


@pytest.fixture
def agent_client(tenant):
    return signed_in_member(APIClient(), tenant, Role.AGENT)


@pytest.fixture
def key_client(tenant):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(tenant)}")
    return client


@pytest.fixture
def bot(tenant):
    return BotFactory(tenant=tenant)


@pytest.fixture
def other_bot(other_tenant):
    return BotFactory(tenant=other_tenant, name="Globex bot")


@pytest.fixture
def shop_bot(tenant):
    """The tenant's bot trained on the tiny shop data, with canned answers and a human intent, open to ORIGIN."""
    bot = BotFactory(tenant=tenant, allowed_origins=[ORIGIN], settings=SHOP_SETTINGS)
    activate_trained_version(bot)
    return bot


@pytest.fixture
def fresh_cache():
    """Rate limits, agent presence and counters kept in the cache start empty."""
    cache.clear()

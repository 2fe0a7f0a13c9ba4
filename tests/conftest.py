import pytest
from django.core.cache import cache, caches
from django.test.signals import setting_changed
from rest_framework.test import APIClient

from config.celery import app as celery_app
from conversations.services import answering
from tenants.models import Role
from tests.factories import BotFactory, TenantFactory, api_key_for, signed_in_member
from tests.trained_bot import activate_trained_version, trained_version_dir
from tests.widget.widget_socket_support import ORIGIN, SHOP_SETTINGS


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    settings.UPLOADS_ROOT = tmp_path / "uploads"
    settings.ARTIFACTS_ROOT = tmp_path / "artifacts"


def _drop_the_model_server_when_its_settings_change(*, setting, **kwargs):
    """The model server reads the BOTS_* settings once, when built: the next answer builds it from those in force."""
    if setting.startswith("BOTS_"):
        answering.reset_model_server()


setting_changed.connect(_drop_the_model_server_when_its_settings_change)


@pytest.fixture(autouse=True)
def _no_model_server_state_from_the_test_before():
    """The process's model server outlives a test. After one, a server that holds anything but the shop version
    trained once per process (a version in the test's own tmp dir; nothing, after a failed load) is dropped with
    all the test left in it: loaded models, micro-batchers, failed loads. The shop version's directory never
    changes, so it stays loaded rather than be read again by the next test that answers.
    """
    yield
    shared = [str(trained_version_dir())] if trained_version_dir.cache_info().currsize else []
    if not shared or answering.model_server().cache.keys() != shared:
        answering.reset_model_server()


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
    """Rate limits, agent presence, counters and the question groups kept in the caches start empty."""
    cache.clear()
    caches["shared"].clear()

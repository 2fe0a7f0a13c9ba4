"""The API does what its schema says: schemathesis generates requests for every operation from the schema, valid
and invalid, and checks each answer. A tenant's API key (an admin's rights) calls a tenant that owns a trained
bot, in-process through the WSGI app; no answer is a server error, every status is one the operation documents,
every body matches its documented schema. Bounded and seeded, so CI sends the same requests every time."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from bots.models import Bot
from knowledge import services as imports
from tests.factories import BotFactory, api_key_for, subscribe
from tests.trained_bot import activate_trained_version
from training import services as training

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def in_process_requests(db):
    """Each request runs in the test's transaction, as Django's test client runs it: the connection stays open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tenant_with_trained_bot(tenant, settings):
    # Hundreds of requests in a few seconds: the rate limits are another test's subject.
    settings.API_RATE_LIMIT_ADDRESS_BURST = settings.API_RATE_LIMIT_KEY_BURST = 1_000_000
    subscribe(tenant)
    bot = BotFactory(tenant=tenant, name="Shop")
    activate_trained_version(bot)
    # Rows whose nullable fields are null: an import no member uploaded (an API key did), a run not trained yet.
    imports.create_import(tenant=tenant, bot=bot, enqueue=False, upload=SimpleUploadedFile(
        "tickets.csv", b"message,intent\nWhere is my parcel?,shipping\nI forgot my password,password\n"))
    training.start_training_run(tenant=tenant, bot=bot)
    return tenant


def served_schema() -> dict:
    """The schema /api/schema/ serves, as JSON."""
    return json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(served_schema())
schema.app = get_wsgi_application()
# Valid requests and invalid ones (each must be refused with a documented error, never a 500); the key is ours.
schema.config.generation.update(modes=list(GenerationMode), with_security_parameters=False)


@pytest.fixture
def api_key(tenant_with_trained_bot):
    return api_key_for(tenant_with_trained_bot)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case, in_process_requests, api_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


@pytest.mark.parametrize("path", ["/api/v1/bots/{bot_pk}/imports/", "/api/v1/bots/{bot_pk}/training-runs/"])
def test_rows_with_null_fields_are_read_as_the_schema_says(path, in_process_requests, api_key,
                                                          tenant_with_trained_bot):
    """Generated ids rarely name a real bot, so the lists of the rows above are read with the real one."""
    bot = Bot.objects.for_tenant(tenant_with_trained_bot).get()
    case = schema[path]["GET"].Case(path_parameters={"bot_pk": bot.pk})

    response = case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)

    assert response.status_code == 200 and response.json()["results"]

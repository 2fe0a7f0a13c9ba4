import pytest
from django.test import Client


def test_healthz_says_the_process_is_up():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_broker_and_channel_layer():
    response = Client().get("/readyz")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "channel_layer"}
    assert response.status_code == 200, body
    assert all(check["ok"] for check in body["checks"].values())


def test_api_schema_and_docs_are_served_without_a_cdn(db):
    client = Client()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/bots/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs

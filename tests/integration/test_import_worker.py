"""Imports run by real worker processes: the public datasets as a user would upload them, and a killed worker."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from knowledge.models import Import, ImportStatus, Ticket
from knowledge.selectors import tickets_for_bot
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"
BITEXT = DATASETS / "bitext-customer-support" / "tickets.csv"
BANKING77 = DATASETS / "banking77" / "train.csv"


def _upload(client, bot, path: Path, action: str = "", mapping: dict | None = None):
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")}
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    return client.post(f"/api/v1/bots/{bot.id}/imports/{action}", data, format="multipart")


def _finished(import_id: int, worker, timeout: float = 120) -> Import:
    def done():
        ticket_import = Import.unscoped.get(pk=import_id)
        return ticket_import if ticket_import.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED) else None

    return wait_for(done, timeout=timeout, message=f"import {import_id} to finish; worker log:\n{worker.log()}")


@pytest.mark.skipif(not BITEXT.exists(), reason="the shared datasets are not beside the repository")
def test_the_bitext_export_is_imported_as_a_user_would_with_the_guessed_mapping_confirmed(
    celery_worker, owner_client, bot, tenant
):
    preview = _upload(owner_client, bot, BITEXT, "preview/").json()
    assert preview["mapping"] == {"message": "instruction", "resolution": "response", "intent": "intent",
                                  "category": "category", "external_id": None, "created_at": None}
    assert preview["rows"][0]["message"] == "how can I cancel purchase 113542617735902?"
    assert preview["rows"][0]["resolution"].count("\n") > 3

    response = _upload(owner_client, bot, BITEXT, mapping=preview["mapping"])
    assert response.status_code == 202
    ticket_import = _finished(response.json()["id"], celery_worker)

    assert ticket_import.status == ImportStatus.SUCCEEDED, ticket_import.error_message
    assert (ticket_import.rows_read, ticket_import.rows_imported, ticket_import.rows_invalid,
            ticket_import.rows_duplicate, ticket_import.rows_existing) == (4514, 4514, 0, 0, 0)
    assert ticket_import.redactions == {"email": 2, "iban": 0, "card": 0, "phone": 0}
    tickets = tickets_for_bot(tenant=tenant, bot=bot)
    assert tickets.count() == 4514
    assert tickets.values("intent").distinct().count() == 27
    assert tickets.values("category").distinct().count() == 11
    assert not tickets.filter(message__regex=r"[\w.]+@[\w-]+\.\w{2,}").exists()

    again = _upload(owner_client, bot, BITEXT, mapping=preview["mapping"])
    assert again.status_code == 409 and again.json()["error"]["details"]["import_id"] == ticket_import.id


@pytest.mark.skipif(not BANKING77.exists(), reason="the shared datasets are not beside the repository")
def test_banking77_train_is_imported_with_its_category_as_the_intent(celery_worker, owner_client, bot, tenant):
    response = _upload(owner_client, bot, BANKING77)
    assert response.json()["mapping"]["intent"] == "category"

    ticket_import = _finished(response.json()["id"], celery_worker)

    assert ticket_import.status == ImportStatus.SUCCEEDED, ticket_import.error_message
    assert (ticket_import.rows_read, ticket_import.rows_imported, ticket_import.rows_duplicate) == (10003, 9999, 4)
    tickets = tickets_for_bot(tenant=tenant, bot=bot)
    assert tickets.values("intent").distinct().count() == 77
    assert not tickets.exclude(resolution="").exists()


def test_a_worker_killed_mid_import_leaves_it_unfinished_and_invisible_until_another_worker_redoes_it(
    start_worker, worker_env, owner_client, bot, tenant, settings, tmp_path
):
    stale_after = 1
    settings.IMPORT_STALE_AFTER_S = stale_after
    worker_env.update({"IMPORT_STALE_AFTER_S": str(stale_after), "IMPORT_BATCH_SIZE": "500"})
    rows = 60_000
    path = tmp_path / "big.csv"
    path.write_text("message,intent\n" + "".join(f"customer question {i} about order {i * 7},intent_{i % 9}\n"
                                                 for i in range(rows)))
    first = start_worker()

    import_id = _upload(owner_client, bot, path).json()["id"]
    wait_for(lambda: Import.unscoped.get(pk=import_id).rows_read >= 2000, timeout=120,
             message=f"the import to be under way; worker log:\n{first.log()}")
    first.kill()

    interrupted = Import.unscoped.get(pk=import_id)
    assert interrupted.status == ImportStatus.RUNNING
    assert 0 < Ticket.unscoped.filter(source_import=interrupted).count() < rows
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == 0

    wait_for(lambda: (timezone.now() - Import.unscoped.get(pk=import_id).heartbeat_at).total_seconds() > stale_after,
             timeout=30, message="the dead worker's heartbeat to go stale")
    second = start_worker()
    ticket_import = _finished(import_id, second, timeout=300)

    assert ticket_import.status == ImportStatus.SUCCEEDED, ticket_import.error_message
    assert (ticket_import.attempts, ticket_import.rows_read, ticket_import.rows_imported,
            ticket_import.rows_duplicate) == (2, rows, rows, 0)
    assert tickets_for_bot(tenant=tenant, bot=bot).count() == rows
    assert Ticket.unscoped.filter(bot=bot).count() == rows

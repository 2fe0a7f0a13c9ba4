"""Deleting a tenant leaves nothing of it: no row in any table names it or one of its rows, no uploaded file, no
model artifact, no account of a person it leaves without a team; the other tenant keeps everything."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict

from conversations.services.visitor_data import export_visitor
from knowledge import services as imports
from tenants.models import Membership, Role, Tenant, TenantOwnedModel
from tenants.services.tenant_deletion import delete_tenant
from tests import factories
from training import services as training
from training.models import ModelVersion, TrainingStatus

pytestmark = pytest.mark.django_db

QUESTIONS = {
    "refund": ["I want my money back", "refund my order please", "how do I get a refund", "where is my refund",
               "can I return this for a refund", "give me a refund", "refund request for my purchase",
               "I need a refund for my order"],
    "shipping": ["when will my parcel arrive", "how long does shipping take", "where is my package",
                 "track my delivery", "my order has not arrived yet", "shipping status please",
                 "delivery time to France", "is my parcel on its way"],
    "password": ["I forgot my password", "reset my password", "can't log in to my account", "change my password",
                 "password reset link not working", "locked out of my account", "how do I recover my login",
                 "my password does not work"],
}
TICKETS = "message,intent,resolution\n" + "".join(
    f"{text},{intent},Here is how {intent} works.\n" for intent, texts in QUESTIONS.items() for text in texts)


@pytest.fixture(autouse=True)
def tiny_training(settings):
    settings.TRAINING_CONFIG_OVERRIDES = {"epochs": 1, "batch_size": 8}


def tenant_owned_models() -> list:
    return [model for model in apps.get_models() if issubclass(model, TenantOwnedModel)]


def with_data_everywhere(tenant, run_on_commit) -> dict:
    """The tenant's owner, a bot with an uploaded ticket file and a trained version, a visitor's conversation
    exported under data rights, and at least one row of every other tenant-owned model."""
    owner = factories.MembershipFactory(tenant=tenant, role=Role.OWNER)
    bot = factories.BotFactory(tenant=tenant)
    with run_on_commit(execute=True):
        upload = imports.create_import(tenant=tenant, bot=bot, uploaded_by=owner.user,
                                       upload=SimpleUploadedFile("tickets.csv", TICKETS.encode()))
    with run_on_commit(execute=True):
        run = training.start_training_run(tenant=tenant, bot=bot, requested_by=owner.user)
    run.refresh_from_db()
    assert run.status == TrainingStatus.SUCCEEDED, run.error
    conversation = factories.ConversationFactory(bot=bot, visitor_email="ann@example.com")
    factories.MessageFactory(conversation=conversation, sender="visitor", text="Where is my parcel?")
    export_visitor(tenant=tenant, visitor_id=conversation.visitor_id, by=owner.user)
    factories.subscribe(tenant)
    for model in tenant_owned_models():
        if not model.unscoped.filter(tenant=tenant).exists():
            parent, build = factories.CHILD_FACTORY_FOR_MODEL.get(model, (None, None))
            if parent is None:
                factories.FACTORY_FOR_MODEL[model](tenant=tenant)
            else:
                build(parent.unscoped.filter(tenant=tenant).first())
    upload.refresh_from_db()
    return {"owner": owner.user, "raw_file": Path(settings.UPLOADS_ROOT) / upload.raw_path,
            "version_dir": Path(ModelVersion.unscoped.get(run=run).path)}


def rows_of(tenant) -> dict[type, set[int]]:
    """Every row the tenant owns, per model: its tenant-owned rows, and the tenant's own row."""
    owned = {model: set(model.unscoped.filter(tenant=tenant).values_list("pk", flat=True))
             for model in tenant_owned_models()}
    return {**owned, Tenant: {tenant.pk}}


def left_behind(deleted: dict[type, set[int]]) -> list[str]:
    """Each table's rows that are one of `deleted`, or refer to one of them, listed across every installed model."""
    found = []
    for model in apps.get_models():
        rows = model._base_manager
        if deleted.get(model) and (count := rows.filter(pk__in=deleted[model]).count()):
            found.append(f"{model._meta.label}: {count} of the deleted rows")
        for field in model._meta.concrete_fields:
            if field.is_relation and deleted.get(field.related_model):
                count = rows.filter(**{f"{field.attname}__in": deleted[field.related_model]}).count()
                if count:
                    found.append(f"{model._meta.label}.{field.name}: {count} rows refer to deleted rows")
    return found


def everything_of(tenant) -> dict:
    return {model._meta.label: [model_to_dict(row) for row in model.unscoped.filter(tenant=tenant).order_by("pk")]
            for model in tenant_owned_models()}


def files_under(*roots: Path) -> set[Path]:
    return {path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()}


def test_deleting_a_tenant_leaves_no_row_file_or_artifact_of_it_and_the_other_tenant_keeps_everything(
    tenant, other_tenant, django_capture_on_commit_callbacks
):
    mine = with_data_everywhere(tenant, django_capture_on_commit_callbacks)
    theirs = with_data_everywhere(other_tenant, django_capture_on_commit_callbacks)
    in_both_teams = factories.MembershipFactory(tenant=other_tenant, role=Role.ADMIN).user
    factories.MembershipFactory(tenant=tenant, user=in_both_teams, role=Role.ADMIN)
    roots = (Path(settings.UPLOADS_ROOT), Path(settings.ARTIFACTS_ROOT))
    assert mine["raw_file"].is_file() and (mine["version_dir"] / "metrics.json").is_file()
    deleted = rows_of(tenant)
    assert all(deleted.values()), [model.__name__ for model, pks in deleted.items() if not pks]
    deleted[get_user_model()] = {mine["owner"].pk}
    their_rows, their_files = everything_of(other_tenant), files_under(*roots) - files_under(
        *(root / str(tenant.pk) for root in roots))

    tenant_id = tenant.pk

    with django_capture_on_commit_callbacks(execute=True):
        delete_tenant(tenant=tenant)

    assert left_behind(deleted) == []
    assert not any((root / str(tenant_id)).exists() for root in roots)
    assert files_under(*roots) == their_files
    assert theirs["raw_file"].is_file() and theirs["version_dir"].is_dir()
    assert everything_of(other_tenant) == their_rows
    assert get_user_model().objects.filter(pk=in_both_teams.pk).exists()
    assert Membership.objects.for_tenant(other_tenant).filter(user=in_both_teams).exists()


def test_the_files_stay_until_the_deletion_commits(tenant, bot, django_capture_on_commit_callbacks):
    upload = imports.create_import(tenant=tenant, bot=bot, enqueue=False,
                                   upload=SimpleUploadedFile("tickets.csv", TICKETS.encode()))
    raw_file = Path(settings.UPLOADS_ROOT) / upload.raw_path

    with django_capture_on_commit_callbacks(execute=False) as removals:
        delete_tenant(tenant=tenant)
    assert raw_file.is_file()

    for remove in removals:
        remove()
    assert not raw_file.exists() and not (Path(settings.UPLOADS_ROOT) / str(upload.tenant_id)).exists()


def test_a_tenant_deleted_in_the_admin_takes_its_uploaded_files_with_it(tenant, bot, client,
                                                                         django_capture_on_commit_callbacks):
    upload = imports.create_import(tenant=tenant, bot=bot, enqueue=False,
                                   upload=SimpleUploadedFile("tickets.csv", TICKETS.encode()))
    client.force_login(get_user_model().objects.create_superuser("root@example.com", "root@example.com", "pw-root-1"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/tenants/tenant/{tenant.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert not (Path(settings.UPLOADS_ROOT) / str(upload.tenant_id)).exists()

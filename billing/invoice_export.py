"""A period's invoice line items as CSV and JSON files: the same rows for the API and the console."""

import csv
import io
import json
from dataclasses import asdict

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from billing.selectors import Invoice

CSV_COLUMNS = ["tenant", "plan", "currency", "period_start", "period_end", "code", "description", "quantity",
               "included", "unit_price_cents", "amount_cents"]


def invoice_as_dict(invoice: Invoice) -> dict:
    return {**asdict(invoice), "total_cents": invoice.total_cents}


def invoice_as_csv(invoice: Invoice) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for item in invoice.line_items:
        writer.writerow([invoice.tenant, invoice.plan or "", invoice.currency, invoice.period_start.isoformat(),
                         invoice.period_end.isoformat(), item.code, item.description, item.quantity,
                         "" if item.included is None else item.included, item.unit_price_cents, item.amount_cents])
    return buffer.getvalue()


def invoice_download(invoice: Invoice, export: str) -> HttpResponse:
    """The invoice as an attachment, `export` being csv or json."""
    name = f"{invoice.tenant}-usage-{invoice.period_start:%Y%m%d}-{invoice.period_end:%Y%m%d}.{export}"
    if export == "csv":
        response = HttpResponse(invoice_as_csv(invoice), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(json.dumps(invoice_as_dict(invoice), cls=DjangoJSONEncoder, indent=2),
                                content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

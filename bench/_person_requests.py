"""How well the explicit-request rule (ml/person_request.py) reads who asks for a person.

False positives: tenants' in-scope questions taken as a request for a person, over all of BANKING77's
test.csv and every Bitext ticket whose intent is not contact_human_agent (that intent is a request for
a person: a hand-off there is right, and it is read as recall instead). Recall: over
bench/person_requests.txt, the ways people ask for a human written for this rule.

Run alone (`PYTHONPATH=. python bench/_person_requests.py`) it prints a table, then one JSON line;
bench/oos.py reads `explicit_request_figures`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from bench._report import print_report
from ml.person_request import asks_for_a_person

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("REPLYDESK_DATASETS", HERE.parents[1] / "shared" / "datasets"))
REQUESTS = HERE / "person_requests.txt"
NOT_REQUESTS = HERE / "not_person_requests.txt"
BITEXT_PERSON_INTENT = "contact_human_agent"
MAX_EXAMPLES = 10


def phrases(path: Path) -> list[str]:
    """The non-blank, non-comment lines of a phrase list."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def in_scope_questions(datasets_dir: Path) -> list[tuple[str, str]]:
    """(source, text) of every in-scope question that is not a request for a person."""
    with (datasets_dir / "banking77" / "test.csv").open(encoding="utf-8", newline="") as file:
        questions = [("banking77", row["text"]) for row in csv.DictReader(file)]
    with (datasets_dir / "bitext-customer-support" / "tickets.csv").open(encoding="utf-8", newline="") as file:
        questions += [("bitext", row["instruction"]) for row in csv.DictReader(file)
                      if row["intent"] != BITEXT_PERSON_INTENT]
    return questions


def bitext_person_requests(datasets_dir: Path) -> list[str]:
    """Bitext's contact_human_agent messages: requests for a person in its own words."""
    with (datasets_dir / "bitext-customer-support" / "tickets.csv").open(encoding="utf-8", newline="") as file:
        return [row["instruction"] for row in csv.DictReader(file) if row["intent"] == BITEXT_PERSON_INTENT]


def explicit_request_figures(datasets_dir: Path) -> dict:
    """False positives on in-scope questions and recall on the written requests (plus, for reference, on
    Bitext's contact_human_agent messages)."""
    questions = in_scope_questions(datasets_dir)
    false_positives = [f"{source}: {text}" for source, text in questions if asks_for_a_person(text)]
    requests = phrases(REQUESTS)
    missed = [text for text in requests if not asks_for_a_person(text)]
    bitext_requests = bitext_person_requests(datasets_dir)
    bitext_caught = sum(asks_for_a_person(text) for text in bitext_requests)
    return {
        "false_positives": len(false_positives),
        "in_scope_questions": len(questions),
        "false_positive_examples": false_positives[:MAX_EXAMPLES],
        "recall": (len(requests) - len(missed)) / len(requests),
        "requests": len(requests),
        "missed": missed,
        "bitext_person_intent_recall": bitext_caught / len(bitext_requests),
        "bitext_person_intent_messages": len(bitext_requests),
    }


def main() -> None:
    figures = explicit_request_figures(DATASETS)
    rows = [
        {"measure": "in-scope questions taken as a request", "count": figures["false_positives"],
         "of": figures["in_scope_questions"]},
        {"measure": "written requests recognised", "count": figures["requests"] - len(figures["missed"]),
         "of": figures["requests"], "rate": figures["recall"]},
        {"measure": f"Bitext {BITEXT_PERSON_INTENT} recognised", "of": figures["bitext_person_intent_messages"],
         "rate": figures["bitext_person_intent_recall"]},
    ]
    examples = [{"false positive": text} for text in figures["false_positive_examples"]]
    misses = [{"missed request": text} for text in figures["missed"]]
    tables = [("Explicit requests for a person", rows)]
    tables += [("In-scope questions taken as a request (first ten)", examples)] if examples else []
    tables += [("Written requests missed", misses)] if misses else []
    print_report(tables, {"bench": "person_requests", **figures})


if __name__ == "__main__":
    main()

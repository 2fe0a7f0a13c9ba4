"""The reporting periods the dashboard and the conversation history share."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

PERIOD_DAYS = (7, 30, 90)
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class Period:
    """The last `days` days, today included; days begin at midnight in the site's time zone."""

    days: int
    start: datetime
    end: datetime

    def dates(self) -> list[date]:
        first = timezone.localdate(self.start)
        return [first + timedelta(days=offset) for offset in range(self.days)]


def period_of(days: int, *, now: datetime | None = None) -> Period:
    if days not in PERIOD_DAYS:
        raise ValueError(f"a period is one of {PERIOD_DAYS} days, not {days}")
    now = now or timezone.now()
    first_day = timezone.localdate(now) - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    return Period(days=days, start=start, end=now)

"""The customer's "I need it by" date against the dates we can promise (issue 18 item 5).

The date that counts is the one we promise for a waiting line: the quote's `expected_date` at
checkout, the line's `promised_date` afterwards (the confident end of its range: docs/dates.md).
"""

from datetime import date

from ..models import OrderLine
from .quote import Quote, QuoteLine


def need_by_misses(*, quote: Quote, need_by: date | None) -> list[QuoteLine]:
    """The quote's waiting lines we cannot promise by `need_by` (their date is later); [] without one."""
    if need_by is None:
        return []
    return [
        line for line in quote.lines if line.backorder and line.expected_date and line.expected_date > need_by
    ]


def need_by_latest(quote: Quote) -> date | None:
    """The latest date promised for a waiting line of the quote: a need-by date on or after it is met."""
    dates = [line.expected_date for line in quote.lines if line.backorder and line.expected_date]
    return max(dates) if dates else None


def need_by_crossed(*, need_by: date | None, old_date: date, new_date: date) -> bool:
    """A line's promise moved past the need-by date: it was met by the date told before, and is not
    by the new one. A line already promised after it (the customer ordered it knowing so) never is."""
    return need_by is not None and old_date <= need_by < new_date


def need_by_late_lines(lines: list[OrderLine], *, need_by: date | None) -> list[OrderLine]:
    """The waiting lines whose promised date is after the need-by date."""
    if need_by is None:
        return []
    return [
        line
        for line in lines
        if line.quantity_backordered and line.promised_date and line.promised_date > need_by
    ]

"""Gap-free document numbers: the next number of a series and year, taken under the counter's lock
in the transaction that issues the document (a rollback gives the number back)."""

from dataclasses import dataclass

from ..locks import document_sequence_lock
from ..models import document_number


@dataclass(frozen=True)
class DocumentNumber:
    series: str
    year: int
    sequence: int
    number: str


def document_number_take(*, series: str, year: int) -> DocumentNumber:
    """The next number of `series` in `year` (the counter row stays locked until the caller's
    transaction ends: no other transaction can take a number of this series and year before)."""
    counter = document_sequence_lock(series=series, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return DocumentNumber(
        series=series,
        year=year,
        sequence=counter.last,
        number=document_number(series=series, year=year, sequence=counter.last),
    )

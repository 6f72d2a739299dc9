"""Form fields every app's forms share.

`SingleLineField` is the one field for text that is one line wherever it ends up: a name, an address
line, a city, a postcode, a phone number, a company, a search, a reference or a short note. What the
browser sends is stored as a person would read it: no leading or trailing space, any run of spaces,
tabs or line breaks inside it one space (so a pasted "Ada\r\nBcc: x@example.com" stays one line,
and cannot become a line of an email), and no invisible control character other than tab, CR and LF
(refused, with a message that says so, rather than stored or silently dropped).

`integer_column_range` gives a form the limits of the integer column its number is stored in, so that
a number too big for it is a message on the form rather than a database error.
"""

import re

from django import forms
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations

# Runs of whitespace to make one space: Python's idea of whitespace (spaces, tabs, CR, LF, vertical tab,
# form feed, the Unicode spaces and line separators).
_WHITESPACE = re.compile(r"\s+")
# Control characters (Unicode Cc: C0, DEL and C1) but tab, line feed and carriage return, which people
# do type or paste: invisible, and harmful in an email or a CSV export (NUL is refused by PostgreSQL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

CONTROL_CHARACTERS_MESSAGE = (
    "This contains invisible control characters; please remove them (retyping it helps)."
)


def single_line(value: str) -> str:
    """`value` stripped, with every run of whitespace inside it (line breaks too) made one space."""
    return _WHITESPACE.sub(" ", value).strip()


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL.search(value))


class SingleLineField(forms.CharField):
    """A CharField for one line of text: stripped, inner whitespace (CR, LF, tabs...) collapsed to one
    space, control characters refused ("control" error). `max_length` counts the cleaned value."""

    default_error_messages = {"control": CONTROL_CHARACTERS_MESSAGE}

    def __init__(self, **kwargs):
        kwargs["strip"] = True
        super().__init__(**kwargs)

    def to_python(self, value):
        if value not in self.empty_values and has_control_characters(str(value)):
            raise forms.ValidationError(self.error_messages["control"], code="control")
        value = super().to_python(value)
        return single_line(value) if value else value


def integer_column_range(model: type[models.Model], name: str) -> tuple[int, int]:
    """The smallest and largest whole number `model.<name>`'s column holds on every database the
    shop runs on (PostgreSQL's limits; SQLite's are wider): a form's limits for a value stored there."""
    field = model._meta.get_field(name)
    return BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]

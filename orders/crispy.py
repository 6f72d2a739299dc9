"""Crispy's rendering of a form field, made once per process for each state the field can be shown in.

The checkout page shows about 13 fields and the order page two; rendering each through
django-crispy-forms' templates on every request was most of those pages' time. A form whose
`bound_field_class` is `CrispyBoundField` renders `{{ form.<name>.crispy }}` from this process's
copy when the field is in a state seen before (same form class, language, label, help text, widget,
choices and value), and through crispy otherwise.
"""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field
from django.forms.boundfield import BoundField
from django.utils.translation import get_language

# Crispy's HTML of unbound fields by everything it is made from (`CrispyBoundField.crispy`); cleared
# when full, so a process keeps at most this many (a field in a few languages and states each).
_CRISPY_HTML: dict[tuple, str] = {}
_CRISPY_HTML_MAX = 512


class CrispyBoundField(BoundField):
    """A field whose crispy rendering (`{{ form.<name>.crispy }}`) is made once per process for each
    state it can be shown in, not per request: the checkout page shows ~13 fields, and rendering each
    through crispy's templates was most of the page's time. Only an unbound field without a typed
    value is kept (a choice, a tick box, an empty field): what a customer typed or was filled in with
    (an email, an address) and every field of a posted form (values, errors) are rendered each time."""

    @property
    def crispy(self) -> str:
        key = self._crispy_key()
        if key is None:
            return as_crispy_field(self)
        html = _CRISPY_HTML.get(key)
        if html is None:
            if len(_CRISPY_HTML) >= _CRISPY_HTML_MAX:
                _CRISPY_HTML.clear()
            html = _CRISPY_HTML[key] = as_crispy_field(self)
        return html

    def _crispy_key(self) -> tuple | None:
        form, field, widget = self.form, self.field, self.field.widget
        if form.is_bound or self.errors:
            return None
        value = self.value()
        choices = getattr(field, "choices", None)
        if value not in (None, "", False, True) and not (
            choices is not None and isinstance(value, str) and value in dict(choices)
        ):
            return None  # typed or filled in for this customer
        return (
            type(form),
            form.prefix,
            form.use_required_attribute,
            form.auto_id,
            self.name,
            get_language(),
            str(self.label),
            str(self.help_text),
            field.required,
            field.disabled,
            field.show_hidden_initial,
            type(widget),
            repr(sorted(widget.attrs.items())),
            value,
            None if choices is None else tuple((str(k), str(v)) for k, v in choices),
        )

"""The `bootstrap_field` filter that renders the checkout form."""

import pytest
from django import forms
from django.template import engines

from orders.forms import CheckoutForm


def render(form, field: str) -> str:
    template = engines["django"].from_string("{% load form_fields %}{{ form." + field + "|bootstrap_field }}")
    return template.render({"form": form})


def test_a_text_field_has_its_label_help_and_autocomplete():
    html = render(CheckoutForm(requires_terms=False), "email")

    assert (
        '<label for="id_email" class="form-label">Email<span class="asteriskField">*</span></label>' in html
    )
    assert 'type="email" name="email"' in html
    assert 'autocomplete="email"' in html and " required" in html
    assert 'aria-describedby="id_email_helptext"' in html
    assert '<div id="id_email_helptext" class="form-text">We send your confirmation' in html
    assert "aria-invalid" not in html


def test_an_invalid_field_says_why_and_points_to_the_message():
    form = CheckoutForm({"email": "not an email <b>"}, requires_terms=True)
    form.is_valid()

    email = render(form, "email")
    terms = render(form, "accept_backorder_terms")

    assert 'value="not an email &lt;b&gt;"' in email  # escaped
    assert 'aria-invalid="true"' in email and "form-control is-invalid" in email
    assert 'aria-describedby="id_email_helptext id_email_error"' in email
    assert (
        '<div id="id_email_error" class="invalid-feedback"><p><strong>Enter a valid email address.' in email
    )
    assert 'type="checkbox"' in terms and "form-check-input is-invalid" in terms
    assert "tick the box to accept them" in terms


def test_the_card_number_is_never_written_back():
    form = CheckoutForm({"card_number": "4242424242424242"}, requires_terms=False)
    form.is_valid()

    assert "4242" not in render(form, "card_number").split("form-text")[0]


def test_select_and_radio_buttons_keep_the_choice():
    form = CheckoutForm({"country": "GB", "shipping_method": "express"}, requires_terms=False)
    form.is_valid()

    country = render(form, "country")
    delivery = render(form, "shipping_method")

    assert '<option value="GB" selected>United Kingdom</option>' in country
    assert '<option value="FR">France</option>' in country
    assert delivery.startswith('<fieldset id="div_id_shipping_method" class="mb-3">')
    assert '<legend class="form-label fs-6">Delivery option' in delivery
    assert 'id="id_shipping_method_1" required checked value="express"' in delivery
    assert '<label for="id_shipping_method_0" class="form-check-label">Standard delivery' in delivery


def test_an_unsupported_widget_is_refused():
    class NotesForm(forms.Form):
        notes = forms.CharField(widget=forms.Textarea)

    with pytest.raises(TypeError, match="Textarea"):
        render(NotesForm(), "notes")

from datetime import UTC, datetime

import pytest
from django.db import transaction

from accounts.models import User
from shop.models import SubmissionKey
from shop.submissions import (
    OUT_OF_DATE,
    AlreadySubmitted,
    SubmissionKeyForm,
    submission_claim,
    submission_key_new,
)

pytestmark = pytest.mark.django_db


def test_a_key_is_claimed_once_and_the_second_claim_names_the_first_time():
    user = User.objects.create_user("clerk@example.com")
    key = submission_key_new()

    with transaction.atomic():
        submission_claim(key=key, action="stock_adjust", user_id=user.pk)
    with pytest.raises(AlreadySubmitted) as second, transaction.atomic():
        submission_claim(key=key, action="stock_adjust", user_id=user.pk)

    row = SubmissionKey.objects.get()
    assert (row.key, row.action, row.user) == (key, "stock_adjust", user)
    assert second.value.created_at == row.created_at


def test_a_refused_claim_leaves_the_callers_transaction_usable():
    key = submission_key_new()
    SubmissionKey.objects.create(key=key, action="order_ship")

    with transaction.atomic():
        with pytest.raises(AlreadySubmitted):
            submission_claim(key=key, action="order_ship", user_id=None)
        SubmissionKey.objects.create(key="other", action="order_ship")  # the savepoint kept it alive

    assert SubmissionKey.objects.count() == 2


def test_a_claim_rolled_back_with_its_transaction_can_be_claimed_again():
    key = submission_key_new()

    with pytest.raises(RuntimeError), transaction.atomic():
        submission_claim(key=key, action="stock_count", user_id=None)
        raise RuntimeError("the change was refused")
    with transaction.atomic():
        submission_claim(key=key, action="stock_count", user_id=None)

    assert SubmissionKey.objects.filter(key=key).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_claim_needs_the_callers_transaction():
    with pytest.raises(AssertionError, match="needs the caller's transaction"):
        submission_claim(key=submission_key_new(), action="stock_adjust", user_id=None)

    assert SubmissionKey.objects.count() == 0


def test_already_submitted_says_when_the_form_was_sent(settings):
    settings.TIME_ZONE = "UTC"

    error = AlreadySubmitted(created_at=datetime(2026, 12, 7, 14, 32, tzinfo=UTC))

    assert str(error) == (
        "This form was already sent at 14:32 on 7 December 2026; it was not applied a second time."
    )
    assert str(AlreadySubmitted(created_at=None)) == (
        "This form was already sent; it was not applied a second time."
    )


def test_a_new_key_is_32_hex_digits_and_fresh_each_time():
    first, second = submission_key_new(), submission_key_new()

    assert len(first) == 32
    assert int(first, 16) >= 0
    assert first != second


def test_the_key_field_renders_a_fresh_hidden_key_and_keeps_a_posted_one():
    first, second = SubmissionKeyForm(), SubmissionKeyForm()
    posted = submission_key_new()

    assert first["submission_key"].value() != second["submission_key"].value()
    assert 'type="hidden"' in str(first["submission_key"])
    assert SubmissionKeyForm({"submission_key": posted})["submission_key"].value() == posted


@pytest.mark.parametrize(
    "posted",
    [{}, {"submission_key": ""}, {"submission_key": "not-a-key"}, {"submission_key": "a" * 65}],
    ids=["missing", "empty", "malformed", "too long"],
)
def test_the_key_field_refuses_a_missing_or_malformed_key(posted):
    form = SubmissionKeyForm(posted)

    assert not form.is_valid()
    assert form.errors == {"submission_key": [OUT_OF_DATE]}

"""Customer questions ("Ask about this order"): the list, unanswered first, and each question's page,
where customer service answers it.

The answer goes through `orders.services.customer_question_answer`: it is recorded with who answered
and when, and emailed to the customer (an outbox row) once. The form carries a one-time submission key
(shop/submissions.py), so a page sent twice answers once; a question already answered is refused.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.defaultfilters import truncatechars
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from orders.forms import QuestionAnswerForm
from orders.models import CustomerQuestion
from orders.selectors import customer_question_for_staff
from orders.services import OrderActionError, customer_question_answer
from shop.formatting import age_in_words, datetime_in_words
from shop.submissions import AlreadySubmitted

from .base import order_link
from .feedback import AnsweredFilter


@admin.register(CustomerQuestion)
class CustomerQuestionAdmin(admin.ModelAdmin):
    """Questions customers sent from their order's page. Nobody adds, edits or deletes them here:
    the page of a question shows it with its order and takes the answer."""

    list_display = ["asked", "order_number", "email", "subject", "excerpt", "state"]
    list_display_links = ["asked"]
    list_filter = [AnsweredFilter, "subject"]
    search_fields = ["=order__number", "email", "message"]
    list_select_related = ["order", "answered_by"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Asked", ordering="created_at")
    def asked(self, obj: CustomerQuestion) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, obj: CustomerQuestion) -> str:
        return order_link(obj.order)

    @admin.display(description="Question")
    def excerpt(self, obj: CustomerQuestion) -> str:
        return truncatechars(obj.message, 80)

    @admin.display(description="Answered", ordering="answered_at")
    def state(self, obj: CustomerQuestion) -> str:
        if obj.answered_at is None:
            days = (timezone.now() - obj.created_at).days
            return "Not yet (asked today)" if days <= 0 else f"Not yet (waiting {age_in_words(days)})"
        by = obj.answered_by.get_username() if obj.answered_by else "—"
        return f"{datetime_in_words(obj.answered_at)} by {by}"

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Customer questions: unanswered first", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The question, its order's waiting lines and other questions, and the answer form (for those
        who may change questions, while it is unanswered)."""
        question = (
            customer_question_for_staff(question_id=unquote(object_id)) if object_id.isdigit() else None
        )
        if question is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, question):
            raise PermissionDenied
        may_answer = self.has_change_permission(request, question)
        form = None
        if request.method == "POST":
            if not may_answer:
                raise PermissionDenied
            form = QuestionAnswerForm(request.POST)
            if form.is_valid():
                try:
                    customer_question_answer(
                        question_id=question.pk,
                        answer=form.cleaned_data["answer"],
                        user_id=request.user.pk,
                        submission_key=form.cleaned_data["submission_key"],
                    )
                except AlreadySubmitted as exc:
                    self.message_user(request, str(exc), messages.WARNING)
                    return HttpResponseRedirect(request.path)
                except OrderActionError as exc:
                    form.add_error(None, str(exc))
                else:
                    self.message_user(
                        request,
                        f"Your answer to {question.email} about order {question.order.number} is on its way "
                        "(Notifications shows when it was sent).",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(self._changelist_url(request))
        elif may_answer and question.answered_at is None:
            # The email is the answer as written: it starts with the greeting, for staff to keep or change.
            name = question.order.full_name.strip()
            form = QuestionAnswerForm(initial={"answer": f"Hello {name},\n\n" if name else "Hello,\n\n"})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Question about order {question.order.number}",
            "subtitle": None,
            "question": question,
            "order": question.order,
            "form": form,
            "may_answer": may_answer,
            "media": self.media + (form.media if form else forms.Media()),
            "order_admin_url": reverse("admin:orders_order_change", args=[quote(question.order_id)]),
            "changelist_url": self._changelist_url(request),
            **(extra_context or {}),
        }
        status = 400 if form is not None and form.is_bound else 200
        return TemplateResponse(request, "admin/orders/customerquestion/answer.html", context, status=status)

    def _changelist_url(self, request) -> str:
        url = reverse("admin:orders_customerquestion_changelist")
        preserved = request.GET.get("_changelist_filters")
        return f"{url}?{preserved}" if preserved else url

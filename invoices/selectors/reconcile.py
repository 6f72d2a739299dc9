"""The documents check: every order's invoices and credit notes against the money its payment
moved, every shipment against its invoice, every document against its own lines, every number
series against gaps. `invoices_reconcile` (a management command) asks it; a healthy shop has no
difference. Reads only, no locks, six queries however many orders.

Per order (to the cent):

1. **Money.** Σ `amount_payable` of its invoices and prepayment invoices − Σ its credit notes
   = `Payment.amount_captured` − `Payment.amount_refunded`: every euro taken is on an invoice
   once (a prepayment invoice when taken before shipping, the shipment's invoice otherwise; a
   shipment invoice deducts the prepayment it used), every euro given back on a credit note.
2. **Shipments.** Each shipment has one invoice, whose total is the shipment's `amount`.
3. **Documents.** Each document's lines add up to its total, and its totals per rate are the
   lines' gross per rate split by `tax.rules.vat_split` (net + VAT = gross).

And once: **numbers**. Each series and year runs 1, 2, … with no gap, up to its counter.

Which orders: those with a document, and those that captured money placed since the first
document was issued (orders from before invoicing began have none, by design), or `order_ids`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Min, Q

from orders.models import Order, Shipment

from ..amounts import totals_per_rate
from ..models import Document, DocumentKind, DocumentSequence

ZERO = Decimal("0")


@dataclass(frozen=True)
class DocumentDifference:
    order_number: str  # "" for a number series
    check: str  # money, shipment, document, numbers
    message: str

    def __str__(self) -> str:
        return f"{self.order_number or 'numbers'} ({self.check}): {self.message}"


@dataclass
class ReconcileResult:
    checked: int = 0  # orders
    documents: int = 0
    differences: list[DocumentDifference] = field(default_factory=list)


def documents_reconcile(*, order_ids: list[int] | None = None) -> ReconcileResult:
    """Compare documents with payments, shipments and themselves (the module's checks)."""
    result = ReconcileResult()
    orders = Order.objects.select_related("payment").only(
        "pk", "number", "payment__amount_captured", "payment__amount_refunded"
    )
    if order_ids is not None:
        orders = orders.filter(pk__in=list(order_ids))
    else:
        start = Document.objects.aggregate(start=Min("issued_at"))["start"]
        if start is None:
            orders = orders.none()
        else:
            orders = orders.filter(
                Q(pk__in=Document.objects.values("order_id"))
                | Q(placed_at__gte=start, payment__amount_captured__gt=0)
            )
    orders = {order.pk: order for order in orders.order_by("pk")}
    documents = defaultdict(list)
    for document in Document.objects.filter(order_id__in=list(orders)).order_by("pk"):
        documents[document.order_id].append(document)
    shipments = defaultdict(list)
    for shipment in (
        Shipment.objects.filter(order_id__in=list(orders)).order_by("pk").only("pk", "order_id", "amount")
    ):
        shipments[shipment.order_id].append(shipment)
    for order in orders.values():
        result.checked += 1
        result.documents += len(documents[order.pk])
        result.differences += _order_differences(order, documents[order.pk], shipments[order.pk])
    if order_ids is None:
        result.differences += _number_gaps()
    return result


def _order_differences(
    order: Order, documents: list[Document], shipments: list[Shipment]
) -> list[DocumentDifference]:
    out = []
    payment = getattr(order, "payment", None)
    paid = (payment.amount_captured - payment.amount_refunded) if payment else ZERO
    invoiced = sum((d.amount_payable for d in documents if d.kind != DocumentKind.CREDIT_NOTE), ZERO)
    credited = sum((d.amount_payable for d in documents if d.kind == DocumentKind.CREDIT_NOTE), ZERO)
    if invoiced - credited != paid:
        out.append(
            DocumentDifference(
                order.number,
                "money",
                f"invoiced {invoiced} − credited {credited} = {invoiced - credited}, "
                f"but the payment captured − refunded {paid}",
            )
        )
    invoices = defaultdict(list)
    for document in documents:
        if document.kind == DocumentKind.INVOICE:
            invoices[document.shipment_id].append(document)
    for shipment in shipments:
        found = invoices.get(shipment.pk, [])
        if len(found) != 1:
            out.append(
                DocumentDifference(
                    order.number, "shipment", f"shipment {shipment.pk} has {len(found)} invoices"
                )
            )
        elif found[0].total_gross != shipment.amount:
            out.append(
                DocumentDifference(
                    order.number,
                    "shipment",
                    f"invoice {found[0].number} totals {found[0].total_gross}, shipment {shipment.pk} {shipment.amount}",
                )
            )
    for document in documents:
        out += _document_differences(order.number, document)
    return out


def _document_differences(order_number: str, document: Document) -> list[DocumentDifference]:
    out = []
    try:
        lines_total = sum((Decimal(line["gross"]) for line in document.lines), ZERO)
        expected = totals_per_rate(document.lines)
    except (KeyError, TypeError, ArithmeticError, ValueError) as exc:
        return [
            DocumentDifference(order_number, "document", f"{document.number}: unreadable lines ({exc!r})")
        ]
    if lines_total != document.total_gross:
        out.append(
            DocumentDifference(
                order_number,
                "document",
                f"{document.number}: lines add up to {lines_total}, total {document.total_gross}",
            )
        )
    if expected != document.totals:
        out.append(
            DocumentDifference(
                order_number,
                "document",
                f"{document.number}: totals per rate {_text(document.totals)}, lines say {_text(expected)}",
            )
        )
    return out


def _text(totals: list[dict]) -> str:
    """Totals per rate as "19.00 %: 104.12 + 19.78 = 123.90; …" (stable whatever order JSON keeps keys in)."""
    try:
        return "; ".join(f"{t['rate']} %: {t['net']} + {t['vat']} = {t['gross']}" for t in totals)
    except (KeyError, TypeError):
        return repr(totals)


def _number_gaps() -> list[DocumentDifference]:
    issued = defaultdict(list)
    for series, year, sequence in Document.objects.values_list("series", "year", "sequence").order_by(
        "sequence"
    ):
        issued[(series, year)].append(sequence)
    out = []
    counters = {(c.series, c.year): c.last for c in DocumentSequence.objects.all()}
    for key in sorted(set(issued) | set(counters)):
        numbers = issued.get(key, [])
        last = counters.get(key, 0)
        if numbers != list(range(1, last + 1)):
            missing = sorted(set(range(1, last + 1)) - set(numbers))
            out.append(
                DocumentDifference(
                    "",
                    "numbers",
                    f"{key[0]} {key[1]}: counter at {last}, {len(numbers)} documents"
                    + (f", missing {missing[:10]}" if missing else ""),
                )
            )
    return out

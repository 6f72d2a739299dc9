"""The hook invoices announce (config.hooks): a document was issued.

| hook | sent by | receivers (connected in invoices.apps) |
|---|---|---|
| `document_issued(document_id, kind)` | `invoices.services.issuing`, right after writing the row, in the shipment's or refund's transaction | `invoices.tasks.document_pdf_enqueue` (its PDF after commit); `invoices.emails.document_email_create` (a credit note's email, or a prepayment invoice's when the order confirmation has gone: an outbox row in the same transaction) |
"""

from config.hooks import Hook

document_issued = Hook("invoices.document_issued")

"""Reads of invoices: balances the issuing needs, the documents of an order, the reconciliation."""

from .balances import prepayment_balance
from .reconcile import DocumentDifference, ReconcileResult, documents_reconcile

__all__ = ["DocumentDifference", "ReconcileResult", "documents_reconcile", "prepayment_balance"]

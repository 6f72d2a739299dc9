from django.urls import path

from . import views

app_name = "invoices"

# A customer's invoices and credit notes; each checks the order's owner or its signed link (?token=).
urlpatterns = [
    path("<int:document_id>/", views.document_page, name="document"),
    path("<int:document_id>/pdf/", views.document_pdf_download, name="document_pdf"),
]

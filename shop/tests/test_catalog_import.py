"""The catalog CSV import as a background job (shop.catalog_import): upload in the admin, a worker
imports the file chunk by chunk, the result page lists what each line did."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import User
from shop.catalog_import import csvfile, services
from shop.catalog_import.models import CatalogImport, CatalogImportLine, CatalogImportStatus
from shop.models import Product, Variant
from shop.resources import ProductResource, VariantResource

from .factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:shop_catalogimport_add")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def catalog_staff(client):
    user = User.objects.create_user("cat@example.com", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Catalog"))
    client.force_login(user)
    return user


def upload(client, text, *, kind="products", name="catalog.csv", encoding="utf-8"):
    data = text.encode(encoding) if isinstance(text, str) else text
    return client.post(
        UPLOAD, {"kind": kind, "file": SimpleUploadedFile(name, data, content_type="text/csv")}
    )


def lines_of(job):
    return list(job.lines.order_by("line").values_list("line", "outcome", "key", "reason"))


def test_products_file_is_imported_by_the_worker_with_each_line_reported(
    client, catalog_staff, django_capture_on_commit_callbacks
):
    tents = CategoryFactory(slug="tents")
    ProductFactory(slug="old-tent", name="Old tent", category=tents, description="Old.")
    ProductFactory(slug="same-tent", name="Same tent", category=tents, description="Same.")
    text = (
        "slug,name,category,description,is_active,is_featured\n"
        'new-tent,New tent,tents,"Two lines\nof description",1,0\n'  # a quoted value spanning lines 2-3
        "old-tent,Old tent renamed,tents,Old.,1,1\n"
        "same-tent,Same tent,tents,Same.,1,0\n"
        "\n"
        "lost-tent,Lost tent,no-such-category,,1,0\n"
        "short-row,Short\n"
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(client, text)

    job = CatalogImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:shop_catalogimport_change", args=[job.pk])
    # One message for the worker, after commit (the others tell the page cache the catalog changed).
    assert [c.keywords for c in callbacks if getattr(c, "keywords", None)] == [{"job_id": job.pk}]
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.rows_done, job.chunks_done) == (CatalogImportStatus.DONE, 5, 5, 1)
    assert (job.created_count, job.updated_count, job.unchanged_count, job.failed_count) == (1, 1, 1, 2)
    assert job.created_by == catalog_staff
    assert lines_of(job) == [
        (2, "created", "new-tent", ""),
        (4, "updated", "old-tent", ""),
        (5, "unchanged", "same-tent", ""),
        (7, "failed", "lost-tent", "category: No category has the slug “no-such-category”."),
        (8, "failed", "short-row", "2 values, but the header names 6 columns."),
    ]
    assert Product.objects.get(slug="new-tent").description == "Two lines\nof description"
    renamed = Product.objects.get(slug="old-tent")
    assert (renamed.name, renamed.is_featured) == ("Old tent renamed", True)
    assert not Product.objects.filter(slug__in=["lost-tent", "short-row"]).exists()


def test_a_products_tax_class_is_imported_and_a_wrong_one_is_a_line_error(
    client, catalog_staff, django_capture_on_commit_callbacks
):
    """The VAT class column (docs/tax.md): optional; a value outside standard/reduced/zero fails its line."""
    CategoryFactory(slug="books")
    ProductFactory(slug="atlas", name="Atlas", category=CategoryFactory(slug="maps"))
    text = "slug,name,category,tax_class\nnovel,Novel,books,reduced\npoem,Poem,books,super\natlas,Atlas,maps,reduced\n"
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, text)
    job = CatalogImport.objects.get()
    assert [(line, outcome, key) for line, outcome, key, _reason in lines_of(job)] == [
        (2, "created", "novel"),
        (3, "failed", "poem"),
        (4, "updated", "atlas"),
    ]
    assert dict(Product.objects.filter(slug__in=["novel", "atlas"]).values_list("slug", "tax_class")) == {
        "novel": "reduced",
        "atlas": "reduced",
    }
    assert not Product.objects.filter(slug="poem").exists()


def test_variants_file_reports_bad_prices_and_unknown_products(
    client, catalog_staff, django_capture_on_commit_callbacks
):
    product = ProductFactory(slug="kettle")
    VariantFactory(product=product, sku="KET-1", price=Decimal("20.00"))
    text = (
        "sku,product,price\n"
        "KET-1,kettle,24.50\n"
        "KET-2,kettle,-1\n"
        "KET-3,teapot,9.00\n"
        "KET-4,kettle,not a price\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, text, kind="variants")

    job = CatalogImport.objects.get()
    assert (job.status, job.updated_count, job.created_count, job.failed_count) == ("done", 1, 0, 3)
    outcomes = lines_of(job)
    assert [(line, outcome, key) for line, outcome, key, _ in outcomes] == [
        (2, "updated", "KET-1"),
        (3, "failed", "KET-2"),
        (4, "failed", "KET-3"),
        (5, "failed", "KET-4"),
    ]
    assert outcomes[1][3] == "price: must be 0 or more."
    assert outcomes[2][3] == "product: No product has the slug “teapot”."
    assert outcomes[3][3] == "price: “not a price” is not a price (write it like 24.50)."
    assert Variant.objects.get(sku="KET-1").price == Decimal("24.50")
    assert list(Variant.objects.values_list("sku", flat=True)) == ["KET-1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),  # Django's own check of the upload
        (b"\n\n", "The file is empty: the first line must name the columns."),
        (b"slug,name\n", "The file has a header but no rows."),
        (
            b"slug,naam\nx,y\n",
            "Unknown column(s): naam. A file of products has the columns slug, name, category, description, is_active, is_featured, tax_class (export one to see them).",
        ),
        (
            b"name,category\nTent,tents\n",
            "The column “slug” is missing: each row of products is found by it.",
        ),
        (
            "slug,name\nzelt,Zelt für 2\n".encode("latin-1"),
            "Line 2 is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and upload it again.",
        ),
        (b"slug,name,slug\nx,y,z\n", "A column is named twice in the first line."),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00",
            "The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8” and upload it again.",
        ),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_at_upload_with_the_reason(
    client, catalog_staff, content, message
):
    response = upload(client, content)

    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [message]}
    assert "Nothing was imported." in response.content.decode()
    assert CatalogImport.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(client, catalog_staff, monkeypatch):
    monkeypatch.setattr(csvfile, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr("shop.catalog_import.admin.MAX_FILE_BYTES", 10)

    response = upload(client, "slug,name\nx,y\n")

    assert response.context["form"].errors["file"][0].startswith("The file is 0 MB; at most 0 MB")
    assert CatalogImport.objects.count() == 0


def _job(text: str, kind: str = "products") -> CatalogImport:
    upload = SimpleUploadedFile("c.csv", text.encode(), content_type="text/csv")
    return services.catalog_import_create(kind=kind, upload=upload, user_id=None)


def test_each_chunk_is_written_once_and_a_second_run_resumes_after_the_last(monkeypatch):
    CategoryFactory(slug="tents")
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    job = _job("slug,name,category\n" + "".join(f"t{n},Tent {n},tents\n" for n in range(5)))

    first = services.catalog_import_run(job_id=job.pk, budget_seconds=0)  # one chunk, then stops

    assert (first.status, first.chunks_done, first.rows_done, first.percent) == ("running", 1, 2, 40)
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["t0", "t1"]
    done = services.catalog_import_run(job_id=job.pk)
    assert (done.status, done.chunks_done, done.rows_done, done.created_count) == ("done", 3, 5, 5)
    again = services.catalog_import_run(job_id=job.pk)
    assert (again.chunks_done, again.created_count) == (3, 5)
    assert CatalogImportLine.objects.filter(job=job).count() == 5
    assert Product.objects.count() == 5


def test_a_chunk_already_recorded_is_skipped_by_a_duplicate_task(monkeypatch):
    CategoryFactory(slug="tents")
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    job = _job("slug,name,category\nt0,Tent 0,tents\nt1,Tent 1,tents\nt2,Tent 2,tents\n")
    CatalogImport.objects.filter(pk=job.pk).update(
        chunks_done=1, rows_done=2
    )  # as if a first task wrote chunk 0

    done = services.catalog_import_run(job_id=job.pk)

    assert (done.status, done.created_count, done.rows_done) == ("done", 1, 3)
    assert list(Product.objects.values_list("slug", flat=True)) == ["t2"]
    assert lines_of(done) == [(4, "created", "t2", "")]


def test_the_task_goes_on_in_slices_until_the_file_is_done(monkeypatch, django_capture_on_commit_callbacks):
    CategoryFactory(slug="tents")
    monkeypatch.setattr(services, "CHUNK_ROWS", 1)
    monkeypatch.setattr(
        "shop.tasks.CATALOG_IMPORT_SLICE_SECONDS", 0
    )  # one chunk per task, then it queues itself

    with django_capture_on_commit_callbacks(execute=True):
        job = _job("slug,name,category\nt0,Tent 0,tents\nt1,Tent 1,tents\nt2,Tent 2,tents\n")

    job.refresh_from_db()
    assert (job.status, job.chunks_done, job.created_count) == ("done", 3, 3)


def test_a_file_gone_from_storage_stops_the_job_with_the_reason():
    job = _job("slug,name\nx,y\n")
    job.file.storage.delete(job.file.name)

    stopped = services.catalog_import_run(job_id=job.pk)

    assert (stopped.status, stopped.message) == (
        "failed",
        "The uploaded file is no longer in the media storage; upload it again.",
    )
    assert stopped.finished_at is not None


def test_result_page_refreshes_until_done_and_filters_lines(client, catalog_staff, monkeypatch):
    CategoryFactory(slug="tents")
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    job = _job("slug,name,category\nt0,Tent 0,tents\nt1,Tent 1,nope\nt2,Tent 2,tents\n")
    services.catalog_import_run(job_id=job.pk, budget_seconds=0)
    url = reverse("admin:shop_catalogimport_change", args=[job.pk])

    running = client.get(url).content.decode()

    assert '<meta http-equiv="refresh" content="2">' in running
    assert '<progress id="import-progress" max="100" value="66">' in running
    assert "2 of 3 rows read (66 %)" in running
    services.catalog_import_run(job_id=job.pk)
    done = client.get(url).content.decode()
    assert 'http-equiv="refresh"' not in done
    assert '<progress id="import-progress" max="100" value="100">' in done
    failed = client.get(url, {"outcome": "failed"})
    assert [(item.line, item.key) for item in failed.context["page_obj"]] == [(3, "t1")]
    assert "No category has the slug “nope”." in failed.content.decode()


@pytest.mark.parametrize("lines", [3, 250])
def test_result_page_makes_the_same_queries_for_any_number_of_lines(
    client, catalog_staff, lines, django_assert_num_queries
):
    job = CatalogImport.objects.create(
        kind="products", file="x.csv", file_name="x.csv", total_rows=lines, status="done"
    )
    CatalogImportLine.objects.bulk_create(
        [CatalogImportLine(job=job, line=n + 2, outcome="created", key=f"p{n}") for n in range(lines)]
    )

    with django_assert_num_queries(7):
        response = client.get(reverse("admin:shop_catalogimport_change", args=[job.pk]))

    assert len(response.context["page_obj"].object_list) == min(lines, 100)


def test_staff_who_may_not_change_products_cannot_import(client):
    user = User.objects.create_user("wh@example.com", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Warehouse"))  # views products, never changes them
    client.force_login(user)

    assert client.get(UPLOAD).status_code == 403
    assert upload(client, "slug,name\nx,y\n").status_code == 403
    assert client.get(reverse("admin:shop_product_import")).status_code == 403
    assert CatalogImport.objects.count() == 0


def test_the_product_list_import_link_opens_the_upload_page_for_products(client, catalog_staff):
    listing = client.get(reverse("admin:shop_product_changelist"))
    page = client.get(reverse("admin:shop_variant_import"))

    assert f'href="{reverse("admin:shop_product_import")}"' in listing.content.decode()
    assert page.status_code == 200
    assert page.context["form"].initial == {"kind": "variants"}


def test_an_exported_file_edited_and_uploaded_again_updates_the_same_rows(
    client, catalog_staff, django_capture_on_commit_callbacks
):
    product = ProductFactory(slug="mug", category=CategoryFactory(slug="kitchen"))
    VariantFactory(product=product, sku="MUG-S", price="9.00")
    exported = client.get(reverse("admin:shop_variant_export"))
    text = VariantResource().export().csv
    assert exported.status_code == 200
    assert text.splitlines() == [
        "sku,product,option_values,price,is_active,position",
        "MUG-S,mug,{},9.00,1,0",
    ]

    with django_capture_on_commit_callbacks(execute=True):
        upload(
            client,
            text.replace("9.00", "11.50") + 'MUG-L,mug,"{""size"": ""L""}",13.00,1,1\n',
            kind="variants",
        )

    assert lines_of(CatalogImport.objects.get()) == [(2, "updated", "MUG-S", ""), (3, "created", "MUG-L", "")]
    assert {v.sku: (str(v.price), v.option_values) for v in Variant.objects.all()} == {
        "MUG-S": ("11.50", {}),
        "MUG-L": ("13.00", {"size": "L"}),
    }


def test_a_row_the_database_refuses_is_reported_and_the_others_are_written(monkeypatch):
    CategoryFactory(slug="tents")
    original = ProductResource.save_instance

    def save_instance(self, instance, is_create, row, **kwargs):
        if instance.slug == "boom":
            raise IntegrityError("duplicate key value violates unique constraint “boom”")
        return original(self, instance, is_create, row, **kwargs)

    monkeypatch.setattr(ProductResource, "save_instance", save_instance)
    job = _job("slug,name,category\nt0,Tent 0,tents\nboom,Boom,tents\nt2,Tent 2,tents\n")

    done = services.catalog_import_run(job_id=job.pk)

    assert (done.status, done.created_count, done.failed_count) == ("done", 2, 1)
    assert lines_of(done) == [
        (2, "created", "t0", ""),
        (3, "failed", "boom", "duplicate key value violates unique constraint “boom”"),
        (4, "created", "t2", ""),
    ]
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["t0", "t2"]


def test_an_unfinished_import_can_be_queued_again_and_goes_on_where_it_stopped(
    client, catalog_staff, monkeypatch, django_capture_on_commit_callbacks
):
    CategoryFactory(slug="tents")
    monkeypatch.setattr(services, "CHUNK_ROWS", 1)
    job = _job("slug,name,category\nt0,Tent 0,tents\nt1,Tent 1,tents\n")  # its message lost: never run
    services.catalog_import_run(job_id=job.pk, budget_seconds=0)  # then a worker stopped after one chunk
    url = reverse("admin:shop_catalogimport_change", args=[job.pk])
    assert 'id="import-requeue"' in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)

    job.refresh_from_db()
    assert response.status_code == 302
    assert (job.status, job.chunks_done, job.created_count) == ("done", 2, 2)
    assert Product.objects.count() == 2
    assert 'id="import-requeue"' not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(url)  # finished: nothing queued
    assert [c for c in callbacks if getattr(c, "keywords", None)] == []

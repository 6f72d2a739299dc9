"""CSV import/export: stock counts (inventory/imports.py, the admin page, the command) and the catalog
(django-import-export on products and variants). Good files, bad rows with line numbers, dry runs,
all-or-nothing, permissions, and a 50,000-row count in bounded memory."""

import io
import tracemalloc

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import User
from inventory.console.imports import StockCountFileError, stock_count_import
from inventory.console.resources import StockCountResource
from inventory.models import MovementReason, StockItem, StockMovement, Warehouse
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from orders.models import OrderLine
from orders.tests.helpers import allow_backorders, place
from shop.models import Variant
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

IMPORT_PAGE = reverse("staff_stock_count_import")


def csv_bytes(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def levels() -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (i.variant.sku, i.warehouse.code): (i.on_hand, i.allocated)
        for i in StockItem.objects.select_related("variant", "warehouse")
    }


@pytest.fixture
def stock():
    """MAIN holds 10 of MUG and 4 of CUP; two customers wait for 3 units of LAMP (none in stock)."""
    main = WarehouseFactory(code="MAIN")
    WarehouseFactory(code="EAST")
    mug, cup, lamp = VariantFactory(sku="MUG"), VariantFactory(sku="CUP"), VariantFactory(sku="LAMP")
    stock_adjust(variant_id=mug.pk, warehouse_id=main.pk, quantity_change=10)
    stock_adjust(variant_id=cup.pk, warehouse_id=main.pk, quantity_change=4)
    allow_backorders(lamp)
    place([(lamp, 2)], email="first@example.com")
    place([(lamp, 1)], email="second@example.com")
    return {"main": main, "lamp": lamp}


GOOD = (
    "sku,warehouse,counted,item",
    "MUG,MAIN,7,Mug",
    "CUP,MAIN,4,Cup",
    "LAMP,MAIN,5,Lamp",
    "MUG,EAST,2,Mug",
)


def test_good_file_sets_counts_through_the_ledger_and_serves_waiting_customers(
    stock, admin_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = stock_count_import(
            source=csv_bytes(*GOOD), user_id=admin_user.pk, dry_run=False, note="November"
        )

    assert (result.applied, result.rows, result.changed, result.unchanged) == (True, 4, 3, 1)
    assert (result.units_added, result.units_removed, result.errors) == (7, 3, [])
    assert levels() == {
        ("MUG", "MAIN"): (7, 0),
        ("CUP", "MAIN"): (4, 0),
        ("LAMP", "MAIN"): (5, 3),  # the 3 waiting units were allocated after commit
        ("MUG", "EAST"): (2, 0),
    }
    counted = StockMovement.objects.filter(reason=MovementReason.COUNTED)
    assert sorted((m.variant.sku, m.warehouse.code, m.on_hand_delta) for m in counted) == [
        ("LAMP", "MAIN", 5),
        ("MUG", "EAST", 2),
        ("MUG", "MAIN", -3),
    ]
    assert {(m.user_id, m.note) for m in counted} == {(admin_user.pk, "November")}
    assert list(
        OrderLine.objects.filter(variant=stock["lamp"]).values_list("quantity_backordered", flat=True)
    ) == [0, 0]


def test_bad_rows_are_reported_by_line_and_nothing_is_written(stock, django_capture_on_commit_callbacks):
    before = levels()
    source = csv_bytes(
        "sku,warehouse,counted",
        "MUG,MAIN,7",
        "NOPE,MAIN,1",
        "CUP,WEST,1",
        "CUP,MAIN,-2",
        "CUP,MAIN,two",
        ",MAIN,1",
        "MUG,MAIN,8",
    )
    with django_capture_on_commit_callbacks() as callbacks:
        result = stock_count_import(source=source, user_id=None, dry_run=False)

    assert [str(e) for e in result.errors] == [
        "Line 5: the count -2 is negative.",
        "Line 6: the count “two” is not a whole number.",
        "Line 7: the SKU is empty.",
        "Line 3: no item has the SKU “NOPE”.",
        "Line 4: no warehouse has the code “WEST”.",
        "Line 8: MUG at MAIN is counted twice in this file.",
    ]
    assert (result.applied, result.error_count, result.changed) == (False, 6, 0)
    assert levels() == before
    assert not StockMovement.objects.filter(reason=MovementReason.COUNTED).exists()
    assert callbacks == []


def test_a_count_below_what_is_promised_refuses_the_whole_file(stock, django_capture_on_commit_callbacks):
    place([(Variant.objects.get(sku="CUP"), 3)])  # 3 of CUP's 4 are now allocated
    before = levels()

    with django_capture_on_commit_callbacks() as callbacks:
        result = stock_count_import(
            source=csv_bytes("sku,warehouse,counted", "MUG,MAIN,1", "LAMP,MAIN,9", "CUP,MAIN,2"),
            user_id=None,
            dry_run=False,
            batch_size=1,  # the earlier rows were applied in earlier batches: they roll back too
        )

    assert [str(e) for e in result.errors] == [
        "Line 4: CUP: 3 units are set aside for orders, so the count cannot be 2."
    ]
    assert (result.applied, result.changed, result.preview) == (False, 0, [])
    assert levels() == before
    assert callbacks == []


def test_dry_run_previews_exactly_and_changes_nothing(stock, django_capture_on_commit_callbacks):
    before = levels()

    with django_capture_on_commit_callbacks() as callbacks:
        result = stock_count_import(source=csv_bytes(*GOOD), user_id=None, dry_run=True)

    assert (result.applied, result.dry_run, result.changed, result.units_added, result.units_removed) == (
        False,
        True,
        3,
        7,
        3,
    )
    assert [(p.line, p.sku, p.warehouse, p.on_hand_before, p.counted, p.change) for p in result.preview] == [
        (2, "MUG", "MAIN", 10, 7, -3),
        (4, "LAMP", "MAIN", 0, 5, 5),
        (5, "MUG", "EAST", 0, 2, 2),
    ]
    assert levels() == before
    assert not StockMovement.objects.filter(reason=MovementReason.COUNTED).exists()
    assert callbacks == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (
            b"sku,count\nMUG,1\n",
            "The first line must name the columns sku, warehouse, counted; missing: warehouse, counted.",
        ),
        (b"sku,warehouse,counted\n\xff\xfe,MAIN,1\n", "The file is not UTF-8 text (save it as CSV UTF-8)."),
    ],
    ids=["empty", "columns", "encoding"],
)
def test_unreadable_files_are_refused(stock, content, message):
    with pytest.raises(StockCountFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        stock_count_import(source=io.BytesIO(content), user_id=None, dry_run=False)


def test_a_header_only_file_has_nothing_to_import(stock):
    result = stock_count_import(source=csv_bytes("sku,warehouse,counted"), user_id=None, dry_run=False)

    assert [str(e) for e in result.errors] == ["Line 1: The file has no rows to import."]


# --- the admin page ---------------------------------------------------------------------------


def member_of(client, group: str) -> User:
    user = User.objects.create_user(
        group.lower().replace(" ", "-") + "@example.com", password="x", is_staff=True
    )
    user.groups.set([Group.objects.get(name=group)])
    client.force_login(user)
    return user


def upload(*lines: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("count.csv", ("\n".join(lines) + "\n").encode(), content_type="text/csv")


def test_admin_dry_run_shows_the_preview(client, stock):
    member_of(client, "Warehouse")
    before = levels()

    response = client.post(IMPORT_PAGE, {"file": upload(*GOOD), "dry_run": "on"})

    html = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert "Dry run: nothing was changed" in html
    assert "4 rows: 3 stock levels would change (+7 / −3 units); 1 already right." in html
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert levels() == before


def test_admin_import_records_the_staff_user(client, stock, django_capture_on_commit_callbacks):
    user = member_of(client, "Warehouse")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMPORT_PAGE, {"file": upload(*GOOD)})

    assert response.status_code == 302
    assert response.url == reverse("admin:inventory_stockmovement_changelist") + "?reason__exact=counted"
    assert set(StockMovement.objects.filter(reason="counted").values_list("user_id", "note")) == {
        (user.pk, "stock count import: count.csv")
    }
    assert levels()[("LAMP", "MAIN")] == (5, 3)


def test_admin_shows_bad_rows(admin_client, stock):
    response = admin_client.post(IMPORT_PAGE, {"file": upload("sku,warehouse,counted", "NOPE,MAIN,1")})

    html = response.content.decode()
    assert "Nothing was imported: 1 row to fix" in html
    assert "Line 2: no item has the SKU “NOPE”." in html


def test_customer_service_cannot_import_counts(client, stock):
    member_of(client, "Customer service")
    before = levels()

    assert client.get(IMPORT_PAGE).status_code == 403
    assert client.post(IMPORT_PAGE, {"file": upload(*GOOD)}).status_code == 403
    assert levels() == before


# --- the command ------------------------------------------------------------------------------


def test_command_imports_with_a_progress_bar(stock, tmp_path, admin_user, capsys):
    path = tmp_path / "count.csv"
    path.write_text("\n".join(GOOD) + "\n")

    call_command("import_stock_counts", str(path), "--user", admin_user.email)

    out, err = capsys.readouterr()
    assert "Imported. 4 rows: 3 stock levels changed (+7 / −3 units), 1 already right." in out
    assert "Checking" in err and "Importing" in err
    assert levels()[("MUG", "MAIN")] == (7, 0)
    assert set(StockMovement.objects.filter(reason="counted").values_list("user_id", flat=True)) == {
        admin_user.pk
    }


def test_command_reports_bad_rows_and_exits_1(stock, tmp_path):
    path = tmp_path / "count.csv"
    path.write_text("sku,warehouse,counted\nMUG,MAIN,x\n")

    with pytest.raises(CommandError, match=r"1 bad row\(s\): nothing was imported.") as info:
        call_command("import_stock_counts", str(path), "--no-progress")
    assert info.value.returncode == 1


@pytest.mark.sqlite_run  # a bound on the Python side's memory; the other tests here run the SQL on both
def test_fifty_thousand_rows_in_bounded_memory(tmp_path):
    """5,000 variants × 10 warehouses counted, streamed from disk: peak traced memory stays small."""
    warehouses = Warehouse.objects.bulk_create([Warehouse(name=f"W{n}", code=f"W{n}") for n in range(10)])
    product = ProductFactory()
    variants = Variant.objects.bulk_create(
        [Variant(product=product, sku=f"BULK-{n:05d}", price="1.00") for n in range(5000)], batch_size=1000
    )
    # Counting locations that exist (no stock yet, so the empty ledger agrees with them).
    StockItem.objects.bulk_create(
        [StockItem(variant=v, warehouse=w) for v in variants for w in warehouses], batch_size=5000
    )
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("sku,warehouse,counted\n")
        for n in range(5000):
            for w in warehouses:
                f.write(f"BULK-{n:05d},{w.code},{n % 7 + 1}\n")
    progress = []

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(None)  # count only: keeping the SQL would itself take memory
        return execute(sql, params, many, context)

    tracemalloc.start()
    with connection.execute_wrapper(count), path.open("rb") as source:
        result = stock_count_import(
            source=source,
            user_id=None,
            dry_run=False,
            progress=lambda stage, rows: progress.append((stage, rows)),
        )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert (result.applied, result.rows, result.changed, result.error_count) == (True, 50_000, 50_000, 0)
    assert StockItem.objects.count() == 50_000
    assert StockMovement.objects.filter(reason="counted").count() == 50_000
    assert progress[-1] == ("apply", 50_000) and len(progress) == 100  # 50 batches checked, 50 applied
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"  # measured: about 4 MB
    # A constant number of statements per 1,000-row batch (about 9), never one per row.
    assert len(statements) <= 500, len(statements)
    # No time limit here (timing goals belong in bench/, not in tests, and a limit had made this test
    # run alone, stalling the other workers): the statement count above is what keeps it set-based.


# --- catalog: django-import-export ------------------------------------------------------------


# The catalog's own CSV import (products, variants) runs in the background: shop/tests/test_catalog_import.py.


def test_catalog_import_and_export_need_permissions(client):
    member_of(client, "Warehouse")  # may view variants, not change them
    assert client.get(reverse("admin:shop_variant_import")).status_code == 403
    assert client.get(reverse("admin:shop_variant_export")).status_code == 200

    member_of(client, "Catalog")
    assert client.get(reverse("admin:shop_variant_import")).status_code == 200


def test_stock_export_reads_back_as_a_count(client, stock, django_capture_on_commit_callbacks):
    exported = StockCountResource().export().csv
    assert exported.splitlines()[0] == "sku,warehouse,counted,allocated,item"
    assert [line.split(",")[:4] for line in exported.splitlines()[1:]] == [
        ["CUP", "MAIN", "4", "0"],
        ["MUG", "MAIN", "10", "0"],
    ]  # LAMP was never stocked: no stock item, no row
    counted = exported.replace("MUG,MAIN,10,", "MUG,MAIN,12,")

    result = stock_count_import(source=io.BytesIO(counted.encode()), user_id=None, dry_run=False)

    assert (result.rows, result.changed, result.units_added) == (2, 1, 2)
    assert levels()[("MUG", "MAIN")] == (12, 0)
    member_of(client, "Warehouse")
    assert client.get(reverse("admin:inventory_stockitem_export")).status_code == 200
    member_of(client, "Catalog")
    assert client.get(reverse("admin:inventory_stockitem_export")).status_code == 403

"""CSV export of stock levels with django-import-export, in the shape the stock-count import reads.

Columns sku, warehouse (code) and counted (= on hand now), plus allocated and
the item name for the person counting. Import is not done through
django-import-export: a stock count must go through
`inventory.services.stock_count_bulk` (ledger reason "counted", allocation of
waiting backorders), checked in full before anything is written, and stream
50,000-row files in bounded memory; `inventory.console.imports` does that, in the admin
("Import stock counts") and in `manage.py import_stock_counts`.
"""

from import_export import fields, resources

from inventory.models import StockItem


class StockCountResource(resources.ModelResource):
    sku = fields.Field(attribute="variant__sku", column_name="sku")
    warehouse = fields.Field(attribute="warehouse__code", column_name="warehouse")
    counted = fields.Field(attribute="on_hand", column_name="counted")
    allocated = fields.Field(attribute="allocated", column_name="allocated")
    item = fields.Field(column_name="item")

    class Meta:
        model = StockItem
        fields = ("sku", "warehouse", "counted", "allocated", "item")
        export_order = fields

    def dehydrate_item(self, obj: StockItem) -> str:
        return str(obj.variant)

    def get_queryset(self):
        return StockItem.objects.select_related("variant__product", "warehouse").order_by(
            "warehouse__code", "variant__sku"
        )

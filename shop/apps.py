from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from inventory.events import availability_changed
        from inventory.models import BackorderPolicy, Warehouse

        from . import cache, tasks
        from .events import catalog_import_queued, password_reset_requested
        from .models import Category, Product, Variant

        # Stock, the queue and incoming supply change what the listing's badges say.
        availability_changed.connect(cache.availability_changed)
        # The reset email is looked up and sent by a worker, never in the request.
        password_reset_requested.connect(tasks.send_password_reset_enqueue)
        # An uploaded catalog file is imported by a worker, chunk by chunk (shop.catalog_import).
        catalog_import_queued.connect(tasks.catalog_import_enqueue)

        # The page cache is told when the catalog changes (a cache being told, no business rule):
        # saved or deleted categories, products, variants, and what every badge depends on,
        # backorder policies and warehouses. Stock changes report themselves (inventory.services).
        for model in (Category, Product, Variant, BackorderPolicy, Warehouse):
            post_save.connect(
                _catalog_changed, sender=model, dispatch_uid=f"page-cache-{model.__name__}-save"
            )
            post_delete.connect(
                _catalog_changed, sender=model, dispatch_uid=f"page-cache-{model.__name__}-delete"
            )


def _catalog_changed(sender, **kwargs) -> None:
    from .cache import catalog_changed

    catalog_changed()

"""The demo catalog that `manage.py seed_demo` puts in an empty shop (its first step, "catalog").

A hand-written part (12 categories, 45 products with sizes and colours) is what a
visitor sees by default; `products=N` tops it up with generated products such as
"Trail Jacket 0412" so the shop can be tried with a catalog of 10,000+ products.
Randomness comes from one seed, so the same seed always gives the same catalog.

- `categories`: the category tree;
- `curated`: the hand-written products;
- `generated`: the product lines that generated products are invented from;
- `plans`: what the catalog should contain (products, variants, substitutes), before the
  database is asked;
- `catalog`: `seed_catalog`, which writes the missing rows in bulk.

The later steps of `seed_demo` live with their apps: `inventory.demo` (warehouses,
suppliers, stock situations, purchase orders) and `orders.demo` (customers' orders).
"""

from .catalog import SeedResult, seed_catalog
from .categories import CATEGORIES, LEAF_CATEGORIES
from .curated import CURATED_PRODUCTS, DEFAULT_PRODUCTS

__all__ = [
    "CATEGORIES",
    "CURATED_PRODUCTS",
    "DEFAULT_PRODUCTS",
    "LEAF_CATEGORIES",
    "SeedResult",
    "seed_catalog",
]

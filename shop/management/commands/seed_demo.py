"""`manage.py seed_demo`: fill the shop with believable demo data (`make run` calls it with --if-empty)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from inventory.demo import seed_inventory
from orders.demo import seed_orders
from shop.cache import catalog_changed
from shop.demo import DEFAULT_PRODUCTS, seed_catalog
from shop.models import Product


@dataclass(frozen=True)
class SeedOptions:
    products: int
    rng_seed: int
    progress: bool


def _catalog(options: SeedOptions) -> str:
    result = seed_catalog(products=options.products, rng_seed=options.rng_seed, progress=options.progress)
    return result.summary()


def _inventory(options: SeedOptions) -> str:
    return seed_inventory(rng_seed=options.rng_seed, progress=options.progress)


def _orders(options: SeedOptions) -> str:
    return seed_orders(rng_seed=options.rng_seed)


# The seeding steps, in the order they run. Each one is idempotent (the catalog creates only what
# is missing; inventory and orders do nothing once their demo rows exist) and returns a one-line
# summary for the terminal.
STEPS: list[tuple[str, Callable[[SeedOptions], str]]] = [
    ("catalog", _catalog),
    ("inventory", _inventory),  # warehouses, suppliers, stock situations, open purchase orders
    ("orders", _orders),  # customers waiting on backorders, placed through the checkout service
]


class Command(BaseCommand):
    help = (
        "Fill the shop with demo data, in steps: the catalog (categories, products, variants, "
        "substitutes), then inventory (warehouses, suppliers, stock in every availability situation, "
        "open purchase orders), then orders (demo customers waiting on backorders). Safe to run again: "
        "the catalog step creates only what is missing, the other steps nothing once their demo data exists."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--products",
            type=int,
            default=DEFAULT_PRODUCTS,
            help=f"Products in the catalog: the {DEFAULT_PRODUCTS} hand-written ones, then generated ones "
            f"(default {DEFAULT_PRODUCTS}; 10000 is fine).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=2026,
            help="Random seed of the generated products, the stock situations and the demo orders.",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the shop already has any product."
        )
        parser.add_argument(
            "--steps",
            default=",".join(name for name, _ in STEPS),
            help=f"Comma-separated steps to run (default: all of {', '.join(name for name, _ in STEPS)}).",
        )

    def handle(
        self, *args, products: int, seed: int, if_empty: bool, steps: str, verbosity: int, **options
    ) -> None:
        if products < 0:
            raise CommandError("--products must be zero or more")
        chosen = [name.strip() for name in steps.split(",") if name.strip()]
        unknown = set(chosen) - {name for name, _ in STEPS}
        if unknown:
            raise CommandError(f"unknown step(s): {', '.join(sorted(unknown))}")
        if if_empty and Product.objects.exists():
            self.stdout.write("Nothing to do: the shop already has products (--if-empty)")
            return
        seed_options = SeedOptions(products=products, rng_seed=seed, progress=verbosity >= 1)
        for name, step in STEPS:
            if name in chosen:
                self.stdout.write(step(seed_options))
        catalog_changed()  # the steps write in bulk, which sends no signal to the page cache

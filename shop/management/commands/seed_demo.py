"""`manage.py seed_demo`: fill the shop with believable demo data (`make run` calls it with --if-empty)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

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


# The seeding steps, in the order they run. Each one is idempotent (it creates only
# what is missing) and returns a one-line summary for the terminal.
STEPS: list[tuple[str, Callable[[SeedOptions], str]]] = [
    ("catalog", _catalog),
    # Later steps plug in here, after the catalog they build on:
    #   ("inventory", ...)  stock levels and purchase orders for the catalog's variants
    #   ("orders", ...)     demo customers and orders, some of them backordered
]


class Command(BaseCommand):
    help = (
        "Create a demo catalog (categories, products, variants, substitutes); creates only what is missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--products",
            type=int,
            default=DEFAULT_PRODUCTS,
            help=f"Products in the catalog: the {DEFAULT_PRODUCTS} hand-written ones, then generated ones "
            f"(default {DEFAULT_PRODUCTS}; 10000 is fine).",
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed for generated products.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the shop already has any product."
        )

    def handle(self, *args, products: int, seed: int, if_empty: bool, verbosity: int, **options) -> None:
        if products < 0:
            raise CommandError("--products must be zero or more")
        if if_empty and Product.objects.exists():
            self.stdout.write("Nothing to do: the shop already has products (--if-empty)")
            return
        seed_options = SeedOptions(products=products, rng_seed=seed, progress=verbosity >= 1)
        for _name, step in STEPS:
            self.stdout.write(step(seed_options))

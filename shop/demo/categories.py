"""The demo's category tree: three top-level categories of three leaves each."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CategorySpec:
    name: str
    slug: str
    description: str
    parent: str | None = None  # slug of the parent; None for a top-level category
    position: int = 0


def _tree(*branches: tuple[str, str, str, list[tuple[str, str, str]]]) -> list[CategorySpec]:
    """Flatten (name, slug, description, children) branches into specs, parents first."""
    specs = [
        CategorySpec(name, slug, text, position=i * 10) for i, (name, slug, text, _) in enumerate(branches)
    ]
    for _name, parent, _text, children in branches:
        specs += [
            CategorySpec(n, s, t, parent=parent, position=i * 10) for i, (n, s, t) in enumerate(children)
        ]
    return specs


CATEGORIES = _tree(
    (
        "Outdoor",
        "outdoor",
        "Shelter, packs and sleep systems for nights outside.",
        [
            ("Tents", "tents", "Dome, tunnel and ultralight tents for one to six people."),
            ("Backpacks", "backpacks", "Daypacks to expedition packs, fitted by back length."),
            ("Sleeping gear", "sleeping-gear", "Sleeping bags, quilts, mats and pillows."),
        ],
    ),
    (
        "Kitchen",
        "kitchen",
        "Pans, knives and brewing kit that last for decades.",
        [
            ("Cookware", "cookware", "Cast iron, carbon steel and stainless pans and pots."),
            ("Knives", "knives", "Forged kitchen knives and the stones to keep them sharp."),
            ("Coffee & tea", "coffee-tea", "Grinders, kettles and brewers for the morning ritual."),
        ],
    ),
    (
        "Apparel",
        "apparel",
        "Clothing for the trail and the town.",
        [
            ("Jackets", "jackets", "Rain shells, down and fleece."),
            ("T-shirts", "t-shirts", "Merino, organic cotton and technical tees."),
            ("Footwear", "footwear", "Boots, trail shoes, sandals and socks."),
        ],
    ),
)
LEAF_CATEGORIES = [c.slug for c in CATEGORIES if c.parent is not None]

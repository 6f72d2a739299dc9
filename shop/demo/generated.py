"""How to invent believable products for each leaf category, to grow the demo catalog to 10,000+."""

from dataclasses import dataclass
from decimal import Decimal

from .curated import SIZES


@dataclass(frozen=True)
class ProductLine:
    """How to invent believable products for one leaf category."""

    code: str  # SKU prefix
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    prices: tuple[int, int]  # whole euros, inclusive
    option: str
    values: tuple[str, ...]
    blurbs: tuple[str, ...]


PRODUCT_LINES = {
    "tents": ProductLine(
        "TENT", ("Alpine", "Ridge", "Fjord", "Canyon", "Highland"), ("Tent", "Shelter", "Tarp Tent"),
        (120, 650), "colour", ("Green", "Orange", "Sand", "Grey"),
        ("Pitches in minutes, fly first.", "Taped seams and a 3000 mm fly.", "Two doors, two porches.",
         "Colour-coded poles and clips.", "Packs small enough for a bike trip."),
    ),
    "backpacks": ProductLine(
        "PACK", ("Trail", "Summit", "Valley", "Scree", "Cairn"), ("Daypack", "Backpack", "Pack"),
        (49, 289), "colour", ("Black", "Olive", "Red", "Navy"),
        ("A ventilated mesh back.", "Hip-belt pockets for snacks.", "Made from recycled nylon.",
         "A hydration sleeve and hose port.", "An adjustable harness."),
    ),
    "sleeping-gear": ProductLine(
        "SLBG", ("Ember", "Glacier", "Bivouac", "Twilight", "Aurora"), ("Sleeping Bag", "Quilt", "Mat"),
        (29, 399), "size", ("Regular", "Long", "Wide"),
        ("Comfortable well below freezing.", "Packs into its own stuff sack.", "A full-length zip.",
         "A hood that cinches with one hand.", "Tested to EN ISO 23537."),
    ),
    "cookware": ProductLine(
        "COOK", ("Hearth", "Forge", "Copperline", "Heritage", "Ironclad"),
        ("Skillet", "Saucepan", "Sauté Pan"),
        (25, 220), "size", ("20 cm", "24 cm", "28 cm"),
        ("Works on induction.", "Oven-safe to 260 °C.", "A riveted stay-cool handle.",
         "Heavy base, even heat.", "Dishwasher-safe."),
    ),
    "knives": ProductLine(
        "KNIF", ("Damascus", "Nordic", "Atelier", "Tosa", "Solingen"),
        ("Chef's Knife", "Utility Knife", "Cleaver"),
        (25, 260), "handle", ("Walnut", "Olive", "Black"),
        ("Hand-sharpened to 15°.", "A full tang for balance.", "Comes with a magnetic sheath.",
         "Forged from one bar of steel.", "A lifetime sharpening service."),
    ),
    "coffee-tea": ProductLine(
        "BREW", ("Morning", "Roastery", "Kyoto", "Barista", "Slowdrip"), ("Kettle", "Grinder", "Dripper"),
        (15, 180), "colour", ("Black", "White", "Stainless"),
        ("Brews a cup in four minutes.", "Borosilicate glass.", "Stainless steel burrs.",
         "A spout made for slow pouring.", "Fits in a rucksack side pocket."),
    ),
    "jackets": ProductLine(
        "JKT", ("Trail", "Storm", "Summit", "Coastal", "Tundra"), ("Jacket", "Shell", "Parka", "Anorak"),
        (59, 399), "size", tuple(SIZES),
        ("Fully taped seams.", "Pit zips for the climb.", "A hood that turns with your head.",
         "PFC-free water repellency.", "Packs into its own chest pocket."),
    ),
    "t-shirts": ProductLine(
        "TEE", ("Merino", "Everyday", "Ultralight", "Organic", "Basecamp"), ("Tee", "Crew", "Base Layer"),
        (19, 79), "size", tuple(SIZES),
        ("Flat seams that never chafe.", "Stays fresh for days.", "Organic cotton, fairly made.",
         "A relaxed fit.", "Fast-drying fabric."),
    ),
    "footwear": ProductLine(
        "SHOE", ("Ridgewalker", "Scree", "Bog", "Tarmac", "Canyon"), ("Boot", "Trail Shoe", "Sandal"),
        (39, 259), "size", ("EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"),
        ("A resoleable Vibram outsole.", "A waterproof membrane.", "A wide toe box.",
         "Recycled laces and lining.", "Grips on wet rock."),
    ),
}  # fmt: skip
CENTS = (Decimal("0.00"), Decimal("0.50"), Decimal("0.90"), Decimal("0.95"))

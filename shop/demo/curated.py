"""The hand-written demo products: 45 products with sizes and colours, what a visitor sees by default."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CuratedProduct:
    category: str  # slug of a leaf category
    name: str
    sku: str  # variant SKUs add one code per option value: TENT-ALP2-GRN
    price: str
    description: str
    options: dict[str, list[str]] = field(default_factory=dict)
    price_step: str = "0"  # added per step along the first option (a bigger pan costs more)
    featured: bool = False


SIZES = ["S", "M", "L", "XL"]
OPTION_CODES = {
    "Green": "GRN", "Orange": "ORG", "Sand": "SND", "Grey": "GRY", "Black": "BLK", "Olive": "OLV",
    "Red": "RED", "Navy": "NVY", "Slate": "SLT", "Blue": "BLU", "White": "WHT", "Stainless": "SST",
    "Regular": "REG", "Long": "LNG", "Wide": "WDE",
}  # fmt: skip

CURATED_PRODUCTS = [
    # Tents
    CuratedProduct(
        "tents", "Alpine 2 Tent", "TENT-ALP2", "289.00",
        "A two-person, three-season dome that pitches in under five minutes. Two doors, two vestibules "
        "and a trail weight of 2.1 kg.",
        {"colour": ["Green", "Orange"]}, featured=True,
    ),
    CuratedProduct(
        "tents", "Alpine 3 Tent", "TENT-ALP3", "339.00",
        "The Alpine 2 with room for a third sleeper or a dog. Same colour-coded poles, same storm-proof "
        "geometry.",
        {"colour": ["Green", "Orange"]},
    ),
    CuratedProduct(
        "tents", "Ridgeline 1 Ultralight Tent", "TENT-RDG1", "419.00",
        "A single-wall shelter pitched with trekking poles. 790 g packed, for long-distance walkers who "
        "count every gram.",
    ),
    CuratedProduct(
        "tents", "Meadow 4 Family Tent", "TENT-MDW4", "449.00",
        "Stand-up headroom, two bedrooms and a porch for muddy boots. Built for a fortnight at the same "
        "campsite.",
        {"colour": ["Sand", "Green"]},
    ),
    CuratedProduct(
        "tents", "Basecamp 6 Tunnel Tent", "TENT-BSC6", "629.00",
        "A six-person tunnel tent with a sewn-in groundsheet and blackout bedrooms for light summer "
        "nights.",
    ),
    # Backpacks
    CuratedProduct(
        "backpacks", "Trailhead 28 Daypack", "PACK-TRH28", "89.00",
        "A 28-litre daypack with a ventilated mesh back, a hydration sleeve and a stretch pocket for a "
        "wet jacket.",
        {"colour": ["Black", "Olive", "Red"]}, featured=True,
    ),
    CuratedProduct(
        "backpacks", "Summit 45 Backpack", "PACK-SUM45", "179.00",
        "A 45-litre pack for hut-to-hut trips, with an adjustable harness and a lid that becomes a hip "
        "bag.",
        {"back length": ["S/M", "M/L"], "colour": ["Navy", "Slate"]},
    ),
    CuratedProduct(
        "backpacks", "Expedition 65 Backpack", "PACK-EXP65", "259.00",
        "Carries 20 kg in comfort: aluminium frame, load lifters and a hip belt that moulds to you.",
        {"back length": ["S/M", "M/L"]},
    ),
    CuratedProduct(
        "backpacks", "Commuter 20 Roll-top", "PACK-CMT20", "99.00",
        "A waterproof roll-top with a padded laptop sleeve, made from recycled tarpaulin.",
        {"colour": ["Black", "Grey"]},
    ),
    CuratedProduct(
        "backpacks", "Hydration Vest 10", "PACK-HYD10", "119.00",
        "A running vest that holds two soft flasks, a shell and the mandatory kit of a mountain race.",
        {"size": ["S", "M", "L"]},
    ),
    # Sleeping gear
    CuratedProduct(
        "sleeping-gear", "Down 0° Sleeping Bag", "SLBG-DWN0", "349.00",
        "Responsibly sourced 800-fill down, comfortable to 0 °C, packing down to the size of a loaf.",
        {"length": ["Regular", "Long"]}, price_step="30.00", featured=True,
    ),
    CuratedProduct(
        "sleeping-gear", "Synthetic 5° Sleeping Bag", "SLBG-SYN5", "149.00",
        "Keeps its warmth when damp. The sensible choice for wet climates and first trips.",
        {"length": ["Regular", "Long"]}, price_step="15.00",
    ),
    CuratedProduct(
        "sleeping-gear", "Summer Quilt", "SLBG-QLT", "129.00",
        "An open quilt with strap clips for warm nights, when a zipped bag is too much.",
    ),
    CuratedProduct(
        "sleeping-gear", "Insulated Sleeping Mat", "SLBG-MAT", "139.00",
        "An R-value of 4.2 in a mat that inflates in twelve breaths with the pump sack included.",
        {"width": ["Regular", "Wide"]}, price_step="20.00",
    ),
    CuratedProduct(
        "sleeping-gear", "Camp Pillow", "SLBG-PLW", "29.00",
        "An inflatable pillow with a brushed cover that does not slide off the mat.",
        {"colour": ["Grey", "Blue"]},
    ),
    # Cookware
    CuratedProduct(
        "cookware", "Cast Iron Skillet", "COOK-CIS", "39.00",
        "Pre-seasoned cast iron that sears, bakes and goes from hob to campfire to oven.",
        {"size": ["20 cm", "26 cm", "30 cm"]}, price_step="15.00", featured=True,
    ),
    CuratedProduct(
        "cookware", "Stainless Saucepan Set", "COOK-SSS", "149.00",
        "Three tri-ply saucepans with lids, for every hob including induction.",
    ),
    CuratedProduct(
        "cookware", "Enamelled Dutch Oven", "COOK-DOV", "189.00",
        "A 5-litre enamelled cast-iron casserole for slow stews and no-knead bread.",
        {"colour": ["Red", "Blue", "White"]},
    ),
    CuratedProduct(
        "cookware", "Carbon Steel Wok", "COOK-WOK", "69.00",
        "Hand-hammered carbon steel that turns non-stick with use. A flat base for modern hobs.",
    ),
    CuratedProduct(
        "cookware", "Non-stick Frying Pan", "COOK-NFP", "49.00",
        "A PFAS-free ceramic coating on a heavy aluminium base that spreads heat evenly.",
        {"size": ["24 cm", "28 cm"]}, price_step="10.00",
    ),
    # Knives
    CuratedProduct(
        "knives", "Chef's Knife 20 cm", "KNIF-CHF20", "119.00",
        "Forged from one piece of stainless steel and balanced at the bolster. The knife for everything.",
        featured=True,
    ),
    CuratedProduct(
        "knives", "Santoku Knife 18 cm", "KNIF-SAN18", "109.00",
        "A Japanese-style all-rounder with a hollow-ground edge that keeps slices from sticking.",
    ),
    CuratedProduct(
        "knives", "Paring Knife 9 cm", "KNIF-PAR9", "39.00",
        "For peeling, trimming and all the small jobs in the hand.",
    ),
    CuratedProduct(
        "knives", "Bread Knife 23 cm", "KNIF-BRD23", "79.00",
        "A scalloped edge that cuts a crusty loaf without crushing it.",
    ),
    CuratedProduct(
        "knives", "Whetstone 1000/6000", "KNIF-WHT", "45.00",
        "A two-sided water stone with a non-slip base: coarse side to sharpen, fine side to polish.",
    ),
    # Coffee & tea
    CuratedProduct(
        "coffee-tea", "Gooseneck Pour-over Kettle", "BREW-GNK", "79.00",
        "A one-litre kettle with a precise spout and a thermometer in the lid.",
        {"colour": ["Black", "White"]},
    ),
    CuratedProduct(
        "coffee-tea", "Hand Burr Grinder", "BREW-HBG", "99.00",
        "Steel conical burrs and 40 click settings, from espresso to cold brew.",
        featured=True,
    ),
    CuratedProduct(
        "coffee-tea", "Glass Pour-over Dripper", "BREW-DRP", "29.00",
        "A borosilicate dripper with spiral ribs for an even extraction.",
    ),
    CuratedProduct(
        "coffee-tea", "French Press 1 L", "BREW-FPR", "45.00",
        "A double-walled press that keeps coffee hot for an hour; the mesh filter comes apart to clean.",
        {"colour": ["Stainless", "Black"]},
    ),
    CuratedProduct(
        "coffee-tea", "Cast Iron Teapot", "BREW-TPT", "59.00",
        "A 0.8-litre tetsubin-style teapot with a removable stainless infuser.",
        {"colour": ["Black", "Red"]},
    ),
    # Jackets
    CuratedProduct(
        "jackets", "Stormline Rain Jacket", "JKT-STRM", "189.00",
        "A three-layer waterproof, breathable shell with pit zips and a helmet-compatible hood.",
        {"size": SIZES, "colour": ["Navy", "Red"]}, featured=True,
    ),
    CuratedProduct(
        "jackets", "Ridge Down Jacket", "JKT-RDGD", "249.00",
        "Warmth for its weight: 700-fill down in a windproof shell that stuffs into its own pocket.",
        {"size": SIZES, "colour": ["Black", "Olive"]},
    ),
    CuratedProduct(
        "jackets", "Trail Fleece Jacket", "JKT-TFLC", "89.00",
        "A grid fleece that breathes on the climb and stays warm at the top.",
        {"size": ["S", "M", "L"]},
    ),
    CuratedProduct(
        "jackets", "Windbreaker Shell", "JKT-WIND", "99.00",
        "A 90-gram wind shell that lives in a pocket until the weather turns.",
        {"size": SIZES},
    ),
    CuratedProduct(
        "jackets", "Insulated Parka", "JKT-PRKA", "329.00",
        "A thigh-length parka for winter cities: waterproof outside, synthetic fill inside.",
        {"size": ["M", "L", "XL"]},
    ),
    # T-shirts
    CuratedProduct(
        "t-shirts", "Merino Crew Tee", "TEE-MERC", "65.00",
        "150 g/m² merino wool that stays fresh for days on the trail.",
        {"size": SIZES, "colour": ["Black", "Grey"]},
    ),
    CuratedProduct(
        "t-shirts", "Organic Cotton Tee", "TEE-ORGC", "29.00",
        "A heavyweight organic cotton T-shirt with a relaxed fit.",
        {"size": SIZES, "colour": ["White", "Navy", "Olive"]}, featured=True,
    ),
    CuratedProduct(
        "t-shirts", "Trail Running Tee", "TEE-TRUN", "39.00",
        "A featherweight technical tee with flat seams that do not chafe.",
        {"size": ["S", "M", "L"]},
    ),
    CuratedProduct(
        "t-shirts", "Long-sleeve Base Layer", "TEE-BASE", "55.00",
        "A close-fitting first layer that moves sweat away from the skin.",
        {"size": SIZES},
    ),
    CuratedProduct(
        "t-shirts", "Graphic Mountain Tee", "TEE-GRPH", "32.00",
        "A soft cotton tee with a screen-printed contour map of the Matterhorn.",
        {"size": ["S", "M", "L"]},
    ),
    # Footwear
    CuratedProduct(
        "footwear", "Ridgewalker Hiking Boot", "SHOE-RDGW", "179.00",
        "A waterproof leather boot with a Vibram sole, resoleable when the tread wears out.",
        {"size": ["EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"]}, featured=True,
    ),
    CuratedProduct(
        "footwear", "Trail Runner", "SHOE-TRLR", "139.00",
        "A cushioned trail shoe with a rock plate and a grippy, lugged outsole.",
        {"size": ["EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"]},
    ),
    CuratedProduct(
        "footwear", "Approach Shoe", "SHOE-APPR", "149.00",
        "Sticky rubber for scrambling to the foot of the climb, stiff enough for the walk out.",
        {"size": ["EU 40", "EU 41", "EU 42", "EU 43", "EU 44"]},
    ),
    CuratedProduct(
        "footwear", "Camp Sandal", "SHOE-SNDL", "59.00",
        "A recycled-strap sandal for camp, river crossings and the walk to the shower block.",
        {"size": ["EU 38", "EU 40", "EU 42", "EU 44", "EU 46"]},
    ),
    CuratedProduct(
        "footwear", "Merino Hiking Socks", "SHOE-SOCK", "22.00",
        "Cushioned merino socks with a seamless toe, sold as a pair.",
        {"size": ["S", "M", "L"]},
    ),
]  # fmt: skip
DEFAULT_PRODUCTS = len(CURATED_PRODUCTS)

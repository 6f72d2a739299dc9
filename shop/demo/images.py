"""Pictures of the demo products, drawn with Pillow when the catalog is seeded: no downloads.

Each picture is a flat drawing of what the product is (a tent, a pan, a boot: picked from
words of its name, else from its category) in the product's first colour option, or in a
colour of its category's palette, on a light background of the same hue, with the product's
monogram ("A2" for "Alpine 2 Tent") in a corner. The hand-written products get one picture
each; the generated ones (thousands) share one per shape and colour, without a monogram.

Pictures are square; what matters stays inside the middle 4:3 band, because the product
cards crop them to 4:3 (`.product-card-image`) and the product page shows them whole. They
are drawn at twice their size and scaled down, which smooths their edges (about 20 ms each).
"""

import functools
import hashlib
import io
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

SIZE = 800  # pixels, square
_SCALE = 2  # drawn at twice the size, then scaled down (anti-aliasing)
VERSION = 1  # part of every file name: bump it when the drawings change

RGB = tuple[int, int, int]

# Colour options of the demo catalog (shop/demo/curated.py, generated.py) as RGB.
COLOURS: dict[str, RGB] = {
    "Green": (46, 125, 82),
    "Orange": (226, 112, 40),
    "Sand": (196, 164, 116),
    "Grey": (120, 128, 136),
    "Black": (48, 52, 58),
    "Olive": (107, 114, 54),
    "Red": (196, 52, 52),
    "Navy": (38, 58, 104),
    "Slate": (84, 100, 120),
    "Blue": (46, 108, 186),
    "White": (236, 236, 230),
    "Stainless": (168, 176, 184),
    "Walnut": (110, 72, 44),
}

# Colours for products without a colour option, per leaf category (one is picked per product).
PALETTES: dict[str, tuple[str, ...]] = {
    "tents": ("Green", "Orange", "Sand", "Slate"),
    "backpacks": ("Red", "Navy", "Olive", "Slate"),
    "sleeping-gear": ("Blue", "Orange", "Green", "Red"),
    "cookware": ("Black", "Red", "Stainless", "Slate"),
    "knives": ("Walnut", "Black", "Olive"),
    "coffee-tea": ("Black", "Stainless", "Red", "Green"),
    "jackets": ("Red", "Blue", "Orange", "Olive"),
    "t-shirts": ("Blue", "Green", "Red", "Grey"),
    "footwear": ("Sand", "Slate", "Orange", "Black"),
}

# Whole words of a product's name -> the shape drawn for it (the first match wins); else its
# category's. Whole words: "Carbon Steel Wok" is a pan, not a tee.
SHAPE_WORDS: list[tuple[str, str]] = [
    (r"socks?", "sock"),
    (r"sandals?", "sandal"),
    (r"boots?|shoes?|runners?", "shoe"),
    (r"tees?|crew|base layer|t-shirts?", "tshirt"),
    (r"jackets?|shell|parka|anorak|fleece|windbreaker", "jacket"),
    (r"whetstone", "stone"),
    (r"knife|knives|cleaver", "knife"),
    (r"kettle|teapot", "kettle"),
    (r"grinder", "grinder"),
    (r"dripper", "dripper"),
    (r"press", "press"),
    (r"saucepan|dutch oven|pot", "pot"),
    (r"skillet|pan|wok", "pan"),
    (r"mat", "mat"),
    (r"pillow", "pillow"),
    (r"sleeping bag|quilt", "sleeping_bag"),
    (r"vest|daypack|backpack|pack|roll-top", "backpack"),
    (r"tent|shelter|tarp", "tent"),
]
CATEGORY_SHAPES = {
    "tents": "tent",
    "backpacks": "backpack",
    "sleeping-gear": "sleeping_bag",
    "cookware": "pan",
    "knives": "knife",
    "coffee-tea": "kettle",
    "jackets": "jacket",
    "t-shirts": "tshirt",
    "footwear": "shoe",
}


@dataclass(frozen=True)
class Picture:
    """What one picture shows; equal pictures are drawn (and stored) once."""

    shape: str
    colour: str
    monogram: str  # "" for none

    @property
    def file_name(self) -> str:
        """A name that changes whenever the drawing would: products/demo/tent-green-a2-1f0c3e.png."""
        key = f"{VERSION}:{self.shape}:{self.colour}:{self.monogram}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:6]
        parts = [
            self.shape.replace("_", "-"),
            self.colour.lower(),
            re.sub(r"[^a-z0-9]", "", self.monogram.lower()),
        ]
        return "products/demo/" + "-".join(part for part in parts if part) + f"-{digest}.png"


def shape_for(name: str, category: str) -> str:
    lowered = name.lower()
    for pattern, shape in SHAPE_WORDS:
        if re.search(rf"\b(?:{pattern})\b", lowered):
            return shape
    return CATEGORY_SHAPES.get(category, "tent")


def colour_for(*, slug: str, category: str, option_values: dict[str, str]) -> str:
    """The first variant's colour (or knife handle) if it is one we know, else one of the category's."""
    for axis in ("colour", "handle"):
        value = option_values.get(axis)
        if value in COLOURS:
            return value
    palette = PALETTES.get(category, tuple(COLOURS))
    return palette[int(hashlib.sha256(slug.encode()).hexdigest(), 16) % len(palette)]


def monogram_for(name: str) -> str:
    """'A2' for 'Alpine 2 Tent', 'CK' for "Chef's Knife 20 cm": the first two words' first characters."""
    words = re.findall(r"[A-Za-z0-9]+", name.replace("'s ", " "))
    return "".join(word[0] for word in words[:2]).upper()


def picture_png(picture: Picture) -> bytes:
    """The picture as PNG bytes (SIZE x SIZE)."""
    colour = COLOURS[picture.colour]
    image, ground = _background(colour, SIZE * _SCALE)
    draw = ImageDraw.Draw(image)
    draw.ellipse(_s(170, 585, 630, 655), fill=_mix(ground, (0, 0, 0), 0.1))  # the shadow it stands on
    main = colour if _luminance(colour) < 200 else _mix(colour, (0, 0, 0), 0.12)
    palette = _Palette(
        main=main,
        dark=_mix(main, (0, 0, 0), 0.35),
        pale=_mix(main, (255, 255, 255), 0.55),
        line=_mix(main, (0, 0, 0), 0.55),
    )
    SHAPES[picture.shape](draw, palette)
    if picture.monogram:
        _monogram(draw, picture.monogram, palette)
    image = image.reduce(_SCALE)  # each pixel the mean of a 2 x 2 block: smooth edges
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


# --- drawing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Palette:
    main: RGB
    dark: RGB
    pale: RGB
    line: RGB


def _mix(a: RGB, b: RGB, share_of_b: float) -> RGB:
    return tuple(round(x + (y - x) * share_of_b) for x, y in zip(a, b, strict=True))


def _luminance(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _s(*points: float) -> list[float]:
    """Coordinates on the 800-pixel grid, scaled to the drawing's size."""
    return [point * _SCALE for point in points]


def _pts(*pairs: tuple[float, float]) -> list[tuple[float, float]]:
    return [(x * _SCALE, y * _SCALE) for x, y in pairs]


def _background(colour: RGB, size: int) -> tuple[Image.Image, RGB]:
    """A canvas with a soft vertical gradient of the colour's pale tint, and the colour at its bottom."""
    top, bottom = _mix(colour, (255, 255, 255), 0.9), _mix(colour, (255, 255, 255), 0.78)
    if _luminance(colour) >= 200:  # white products on a slightly darker, cooler ground
        top, bottom = (226, 230, 234), (204, 210, 216)
    column = Image.new("RGB", (1, size))
    column.putdata([_mix(top, bottom, y / (size - 1)) for y in range(size)])
    return column.resize((size, size), Image.Resampling.NEAREST), bottom


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # Pillow's own font: nothing to install


def _monogram(draw: ImageDraw.ImageDraw, text: str, palette: _Palette) -> None:
    """The monogram in a white disc at the top right of the 4:3 band."""
    draw.ellipse(_s(608, 122, 708, 222), fill=(255, 255, 255), outline=palette.line, width=3 * _SCALE)
    draw.text((658 * _SCALE, 172 * _SCALE), text, font=_font(44 * _SCALE), fill=palette.line, anchor="mm")


def _outline(p: _Palette) -> dict:
    return {"outline": p.line, "width": 6 * _SCALE}


def _tent(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.polygon(_pts((150, 600), (400, 210), (650, 600)), fill=p.main, **_outline(p))
    draw.polygon(_pts((400, 210), (650, 600), (560, 600)), fill=p.dark)
    draw.polygon(_pts((335, 600), (400, 420), (465, 600)), fill=p.line)
    draw.line(_s(400, 190, 400, 215), fill=p.line, width=8 * _SCALE)
    draw.line(_s(110, 602, 690, 602), fill=p.line, width=8 * _SCALE)


def _backpack(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(300, 180, 500, 260), radius=40 * _SCALE, outline=p.line, width=14 * _SCALE)
    draw.rounded_rectangle(_s(250, 220, 550, 620), radius=70 * _SCALE, fill=p.main, **_outline(p))
    draw.rounded_rectangle(_s(250, 220, 550, 340), radius=70 * _SCALE, fill=p.dark, **_outline(p))
    draw.rounded_rectangle(_s(300, 430, 500, 580), radius=30 * _SCALE, fill=p.dark, **_outline(p))
    draw.line(_s(320, 470, 480, 470), fill=p.pale, width=6 * _SCALE)


def _sleeping_bag(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(150, 330, 560, 590), radius=60 * _SCALE, fill=p.main, **_outline(p))
    for x in (250, 350, 450):
        draw.line(_s(x, 336, x, 584), fill=p.dark, width=8 * _SCALE)
    draw.ellipse(_s(480, 300, 660, 600), fill=p.main, **_outline(p))
    draw.ellipse(_s(520, 370, 620, 530), fill=p.dark)
    draw.ellipse(_s(550, 420, 590, 480), fill=p.pale)


def _mat(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(130, 470, 540, 570), radius=20 * _SCALE, fill=p.main, **_outline(p))
    draw.ellipse(_s(470, 300, 670, 580), fill=p.main, **_outline(p))
    draw.ellipse(_s(520, 360, 620, 520), fill=p.dark)
    for x in (200, 280, 360, 440):
        draw.line(_s(x, 480, x, 560), fill=p.dark, width=6 * _SCALE)


def _pillow(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(170, 300, 630, 580), radius=110 * _SCALE, fill=p.main, **_outline(p))
    draw.arc(_s(230, 340, 570, 540), start=200, end=340, fill=p.pale, width=10 * _SCALE)


def _pan(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(470, 410, 720, 460), radius=22 * _SCALE, fill=p.line)
    draw.ellipse(_s(100, 250, 520, 620), fill=p.main, **_outline(p))
    draw.ellipse(_s(150, 295, 470, 575), fill=p.dark)
    draw.arc(_s(180, 320, 440, 550), start=200, end=260, fill=p.pale, width=10 * _SCALE)


def _pot(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(200, 330, 600, 600), radius=50 * _SCALE, fill=p.main, **_outline(p))
    draw.rounded_rectangle(_s(130, 360, 220, 400), radius=18 * _SCALE, fill=p.line)
    draw.rounded_rectangle(_s(580, 360, 670, 400), radius=18 * _SCALE, fill=p.line)
    draw.rounded_rectangle(_s(180, 280, 620, 335), radius=24 * _SCALE, fill=p.dark, **_outline(p))
    draw.rounded_rectangle(_s(360, 235, 440, 285), radius=20 * _SCALE, fill=p.line)


def _knife(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    """A steel blade whatever the colour, and a handle in the product's colour."""
    steel, edge = (214, 219, 224), (96, 104, 112)
    blade = _pts((110, 470), (170, 380), (540, 350), (540, 480), (190, 480))
    draw.polygon(blade, fill=steel, outline=edge, width=6 * _SCALE)
    draw.line(_s(190, 462, 530, 462), fill=(170, 176, 184), width=8 * _SCALE)
    draw.rounded_rectangle(_s(530, 360, 720, 470), radius=34 * _SCALE, fill=p.main, **_outline(p))
    for x in (590, 665):
        draw.ellipse(_s(x - 11, 404, x + 11, 426), fill=steel, outline=edge, width=2 * _SCALE)


def _stone(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(170, 440, 630, 580), radius=20 * _SCALE, fill=p.dark, **_outline(p))
    draw.rounded_rectangle(_s(190, 360, 610, 450), radius=14 * _SCALE, fill=p.main, **_outline(p))
    draw.rounded_rectangle(_s(190, 300, 610, 370), radius=14 * _SCALE, fill=p.pale, **_outline(p))


def _kettle(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.arc(_s(270, 200, 530, 420), start=180, end=360, fill=p.line, width=18 * _SCALE)
    draw.polygon(_pts((250, 480), (140, 330), (165, 320), (290, 440)), fill=p.main, **_outline(p))
    draw.ellipse(_s(220, 280, 580, 620), fill=p.main, **_outline(p))
    draw.rounded_rectangle(_s(340, 262, 460, 300), radius=16 * _SCALE, fill=p.dark, **_outline(p))
    draw.arc(_s(280, 340, 520, 560), start=200, end=250, fill=p.pale, width=12 * _SCALE)


def _grinder(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(300, 300, 500, 610), radius=40 * _SCALE, fill=p.main, **_outline(p))
    draw.rectangle(_s(300, 420, 500, 450), fill=p.dark)
    draw.line(_s(400, 300, 400, 230), fill=p.line, width=14 * _SCALE)
    draw.line(_s(400, 230, 560, 200), fill=p.line, width=14 * _SCALE)
    draw.ellipse(_s(540, 170, 600, 230), fill=p.dark, **_outline(p))


def _dripper(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(260, 540, 540, 600), radius=24 * _SCALE, fill=p.dark, **_outline(p))
    draw.polygon(_pts((200, 280), (600, 280), (470, 540), (330, 540)), fill=p.main, **_outline(p))
    for x0, x1 in ((300, 370), (400, 400), (500, 430)):
        draw.line(_s(x0, 300, x1, 520), fill=p.pale, width=6 * _SCALE)


def _press(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.line(_s(400, 180, 400, 270), fill=p.line, width=14 * _SCALE)
    draw.ellipse(_s(370, 160, 430, 200), fill=p.line)
    draw.rounded_rectangle(_s(280, 260, 520, 300), radius=14 * _SCALE, fill=p.dark, **_outline(p))
    draw.rounded_rectangle(_s(290, 290, 510, 610), radius=26 * _SCALE, fill=p.pale, **_outline(p))
    draw.rounded_rectangle(_s(300, 440, 500, 600), radius=20 * _SCALE, fill=p.main)
    draw.arc(_s(470, 330, 600, 520), start=270, end=90, fill=p.line, width=16 * _SCALE)


def _jacket(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    body = [(290, 220), (350, 200), (400, 250), (450, 200), (510, 220), (600, 300), (640, 560),
            (570, 570), (545, 380), (545, 610), (255, 610), (255, 380), (230, 570), (160, 560),
            (200, 300)]  # fmt: skip
    draw.polygon(_pts(*body), fill=p.main, **_outline(p))
    draw.polygon(_pts((350, 200), (400, 250), (450, 200), (430, 180), (370, 180)), fill=p.dark, **_outline(p))
    draw.line(_s(400, 250, 400, 606), fill=p.line, width=6 * _SCALE)
    draw.rectangle(_s(290, 470, 360, 480), fill=p.dark)
    draw.rectangle(_s(440, 470, 510, 480), fill=p.dark)


def _tshirt(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    shirt = [(290, 220), (350, 205), (400, 240), (450, 205), (510, 220), (640, 320), (580, 390),
             (535, 355), (535, 610), (265, 610), (265, 355), (220, 390), (160, 320)]  # fmt: skip
    draw.polygon(_pts(*shirt), fill=p.main, **_outline(p))
    draw.arc(_s(350, 175, 450, 265), start=20, end=160, fill=p.dark, width=10 * _SCALE)


def _shoe(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    upper = [(180, 560), (200, 300), (330, 300), (360, 420), (560, 470), (640, 520), (640, 560)]
    draw.polygon(_pts(*upper), fill=p.main, **_outline(p))
    draw.rounded_rectangle(_s(160, 550, 660, 600), radius=20 * _SCALE, fill=p.line)
    for y in (340, 380, 420):
        draw.line(_s(260, y, 345, y + 10), fill=p.pale, width=8 * _SCALE)
    draw.rectangle(_s(200, 290, 335, 310), fill=p.dark)


def _sandal(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(160, 520, 660, 580), radius=28 * _SCALE, fill=p.line)
    draw.rounded_rectangle(_s(170, 500, 650, 540), radius=20 * _SCALE, fill=p.dark)
    for x0, x1 in ((230, 330), (380, 480), (520, 600)):
        draw.rounded_rectangle(_s(x0, 420, x1, 510), radius=30 * _SCALE, fill=p.main, **_outline(p))


def _sock(draw: ImageDraw.ImageDraw, p: _Palette) -> None:
    draw.rounded_rectangle(_s(300, 180, 470, 520), radius=24 * _SCALE, fill=p.main, **_outline(p))
    draw.rounded_rectangle(_s(300, 430, 640, 610), radius=88 * _SCALE, fill=p.main, **_outline(p))
    draw.rectangle(_s(306, 400, 464, 520), fill=p.main)  # joins the leg and the foot without a seam
    draw.rounded_rectangle(_s(300, 180, 470, 250), radius=24 * _SCALE, fill=p.dark, **_outline(p))
    draw.pieslice(_s(460, 430, 640, 610), start=270, end=90, fill=p.dark)


SHAPES = {
    "tent": _tent,
    "backpack": _backpack,
    "sleeping_bag": _sleeping_bag,
    "mat": _mat,
    "pillow": _pillow,
    "pan": _pan,
    "pot": _pot,
    "knife": _knife,
    "stone": _stone,
    "kettle": _kettle,
    "grinder": _grinder,
    "dripper": _dripper,
    "press": _press,
    "jacket": _jacket,
    "tshirt": _tshirt,
    "shoe": _shoe,
    "sandal": _sandal,
    "sock": _sock,
}

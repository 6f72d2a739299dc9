"""The shop speaks the customer's language: every customer template says its words through Django's
translation tags, and the German catalogue (locale/de) translates every one of them.

The template check reads each template with Django's own Lexer, blanks out everything a translation tag
or a variable says, and parses what is left as HTML: a text node, or an attribute a person reads
(alt, title, placeholder, aria-label, ...), that still has a letter in it was written in English only.
"""

import gettext
import html.parser
import re
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.template import Context, Template
from django.template.base import Lexer, TokenType
from django.urls import reverse
from django.utils import translation

from orders.tests.helpers import give_stock
from shop.tests.factories import VariantFactory

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
# Not customer templates: the admin (staff read it in English, as Django's own admin); the emails to staff
# and to suppliers and the suppliers' purchase-order page (outside the /de/ URLs), which are written in
# the shop's language, English.
STAFF_ONLY = (
    "admin/",
    "api/",  # the API's reference pages (Swagger UI, ReDoc), for developers
    "notifications/admin/",
    "inventory/",
    *(
        f"notifications/email/{name}."
        for name in (
            "low_stock_alert",
            "staff_delay_digest",
            "webhook_endpoint_disabled",
            "supplier_po",
            "supplier_po_reminder",
            "_supplier_po_body",
        )
    ),
)
LOCALE_DE = ROOT / "locale" / "de" / "LC_MESSAGES" / "django.po"

LETTER = re.compile(r"[^\W\d_]")
# A string literal a person reads, given to a template as a value (`default:"Search"`, `with label="..."`):
# it must be `_("...")` instead. A literal that names a template, an URL or a CSS class has no space and
# starts lowercase, or is a path.
LITERAL = re.compile(r"""(?<![_\w])(?:"([^"]*)"|'([^']*)')""")
HUMAN_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "aria-roledescription"}
# Literals that are keys a template tag translates itself, not text: when_charged's `what`
# (orders.wording._WHAT).
KEYS = {"backordered items", "items waiting for stock"}
TRANSLATION_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SKIPPED_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim"}
HIDDEN = "\u2063"  # what a tag or variable becomes: not a letter, allowed in a tag name (<h{{ level }}>)


def customer_templates() -> list[Path]:
    """The templates under templates/ and under each app's templates/ directory, staff ones left out."""
    found = []
    for root in [TEMPLATES, *sorted(ROOT.glob("*/templates"))]:
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and path.suffix in {".html", ".txt"} and not relative.startswith(STAFF_ONLY):
                found.append(path)
    return found


def _prose_literal(token: str) -> str | None:
    """A human-readable string literal inside a tag or variable that is not wrapped in _()."""
    for match in LITERAL.finditer(token):
        text = match.group(1) if match.group(1) is not None else match.group(2)
        before = token[: match.start()].rstrip()
        if before.endswith(("_(", "date:", "time:")) or not LETTER.search(text) or text in KEYS:
            continue
        if " " in text.strip() or text[:1].isupper():
            if "/" in text or text.endswith((".html", ".txt")):
                continue
            return text
    return None


def _blank_tags(source: str) -> tuple[str, list[tuple[int, str]]]:
    """The template with every tag, variable and translated text replaced by HIDDEN (newlines kept),
    and the prose literals found inside tags as (line, text)."""
    out: list[str] = []
    literals: list[tuple[int, str]] = []
    closing: str | None = None  # inside a translation or comment block: skip up to this tag
    for token in Lexer(source).tokenize():
        raw = token.token_string if hasattr(token, "token_string") else token.contents
        if token.token_type == TokenType.TEXT and closing is None:
            out.append(token.contents)
            continue
        blank = HIDDEN + "\n" * raw.count("\n")
        out.append(blank)
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents.split() else ""
            if closing is not None:
                if name == closing:
                    closing = None
                continue
            if name in TRANSLATION_BLOCKS:
                closing = TRANSLATION_BLOCKS[name]
                continue
            if name in SKIPPED_BLOCKS:
                closing = SKIPPED_BLOCKS[name]
                continue
            if name in {
                "translate",
                "trans",
                "url",
                "static",
                "load",
                "extends",
                "block",
                "templatetag",
                "now",
            }:
                continue
            if name == "include":
                # the template's name is a path; the values after `with` are what a person may read
                contents = token.contents.split(" with ", 1)
                if len(contents) == 2 and (text := _prose_literal(contents[1])):
                    literals.append((token.lineno, text))
                continue
        if token.token_type in (TokenType.VAR, TokenType.BLOCK) and (text := _prose_literal(token.contents)):
            literals.append((token.lineno, text))
    return "".join(out), literals


class _TextFinder(html.parser.HTMLParser):
    """Collects (line, text) of every text node and human-read attribute that has a letter."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._raw += 1
        attributes = dict(attrs)
        read = set(HUMAN_ATTRIBUTES)
        if tag == "input" and (attributes.get("type") or "").lower() in {"submit", "button", "reset"}:
            read.add("value")
        if tag == "meta" and (attributes.get("name") or "").lower() == "description":
            read.add("content")
        for name, value in attrs:
            if name in read and value and LETTER.search(value.replace(HIDDEN, "")):
                self.found.append((self.getpos()[0], f'{name}="{value.replace(HIDDEN, "…")}"'))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._raw:
            self._raw -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw and LETTER.search(data.replace(HIDDEN, "")):
            self.found.append((self.getpos()[0], " ".join(data.replace(HIDDEN, "…").split())))


def untranslated(path: Path, root: Path = ROOT) -> list[str]:
    """'file:line: text' for each piece of English a template says outside a translation tag."""
    source = path.read_text(encoding="utf-8")
    text, literals = _blank_tags(source)
    found = list(literals)
    if path.suffix == ".html":
        finder = _TextFinder()
        finder.feed(text)
        finder.close()
        found += finder.found
    else:  # a plain-text email or subject: every word is for a person
        for number, line in enumerate(text.split("\n"), start=1):
            if LETTER.search(line.replace(HIDDEN, "")):
                found.append((number, " ".join(line.replace(HIDDEN, "…").split())))
    relative = path.relative_to(root).as_posix()
    return [f"{relative}:{line}: {snippet}" for line, snippet in sorted(found)]


# --- the checker itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>Hello</p>", ["1: Hello"]),
        ('<p>{% translate "Hello" %}</p>', []),
        ("<p>{% blocktranslate with n=x %}Hello {{ n }}{% endblocktranslate %}</p>", []),
        ('<img src="{{ u }}" alt="Photo">', ['1: alt="Photo"']),
        ('<img src="x.png" alt="{% translate "Photo" %}" class="rounded">', []),
        ('<a href="/x" aria-label="Close">×</a>', ['1: aria-label="Close"']),
        ("<p>{{ price }} · {{ total }}</p>\n<span>€ 5,00</span>", []),
        ("{# Note #}{% comment %}Some words{% endcomment %}<script>var a = 'text';</script>", []),
        ('{% include "x.html" with label="Search all" %}', ["1: Search all"]),
        ('{% include "x.html" with label=_("Search all") %}', []),
        ('\n{{ label|default:"Search" }}', ["2: Search"]),
        ('<input type="submit" value="Send"><input type="hidden" name="a" value="b">', ['1: value="Send"']),
        ('<h{{ level }} class="h6">{{ name }}</h{{ level }}>{% now "Y" %} {{ day|date:"j F Y" }}', []),
        ('<h{{ level }} class="h6">Name</h{{ level }}>', ["1: Name"]),
    ],
)
def test_the_checker_finds_english_outside_translation_tags(tmp_path, source, expected):
    # Given a template; when it is checked; then exactly the English outside a translation tag is named
    template = tmp_path / "t.html"
    template.write_text(source, encoding="utf-8")
    found = [line.split(":", 1)[1] for line in untranslated(template, root=tmp_path)]
    assert found == expected


def test_the_checker_reads_every_line_of_a_plain_text_email(tmp_path):
    # Given a plain-text email with a translated line and an English one
    email = tmp_path / "t.txt"
    email.write_text('{% load i18n %}{% translate "Hello" %}\n\nThanks, {{ name }}\n', encoding="utf-8")
    # When it is checked, then the English line is named with its line number
    assert untranslated(email, root=tmp_path) == ["t.txt:3: Thanks, …"]


# --- the shop's templates -------------------------------------------------------------------------


def test_customer_templates_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in customer_templates()}
    customer = {
        "templates/base.html",
        "templates/shop/product.html",
        "templates/notifications/email/base.txt",
    }
    staff = {
        "templates/admin/index.html",
        "templates/inventory/supplier_po.html",
        "api/templates/api/redoc.html",
    }
    assert customer <= names
    assert not staff & names


def test_no_customer_template_has_an_untranslated_string():
    offenders = [line for path in customer_templates() for line in untranslated(path)]
    assert offenders == [], "English outside a translation tag:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("language", "names", "expected"),
    [
        ("en", ["Alpine Tent"], "Thank you for waiting for Alpine Tent:"),
        ("en", ["Alpine Tent", "Rope", "Stove"], "Thank you for waiting for Alpine Tent, Rope and Stove:"),
        ("de", ["Zelt", "Seil", "Kocher"], "Zelt, Seil und Kocher"),
    ],
)
def test_a_list_of_names_is_one_value_of_a_sentence(language, names, expected):
    # Given order lines; when a sentence names them all, then the list is joined in the language's way
    lines = [SimpleNamespace(product_name=name) for name in names]
    source = "{% load i18n shop_tags %}{% blocktranslate with products=lines|names_in_words %}"
    source += "Thank you for waiting for {{ products }}:{% endblocktranslate %}"
    with translation.override(language):
        text = Template(source).render(Context({"lines": lines}))
    assert expected in text


def test_every_customer_template_that_translates_loads_i18n():
    # A template that uses {% translate %} without {% load i18n %} fails only when it is rendered.
    missing = []
    for path in customer_templates():
        source = path.read_text(encoding="utf-8")
        uses = re.search(r"{%\s*(translate|trans|blocktranslate|blocktrans)\b", source)
        loads = re.search(r"{%\s*load\s[^%]*\bi18n\b", source)
        if uses and not loads:
            missing.append(path.relative_to(ROOT).as_posix())
    assert missing == []


# --- the German catalogue -------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")
TAG = re.compile(r"</?[a-zA-Z][^>]*>")
LOCALE_DE_MO = LOCALE_DE.with_suffix(".mo")


def _catalogue():
    with LOCALE_DE.open("rb") as po:
        return [message for message in read_po(po, locale="de") if message.id]


def _forms(message) -> list[tuple[str, str]]:
    """(English, German) of each form: one for a plain message; singular and plural for a plural one
    (German has the same two forms as English, Plural-Forms: nplurals=2)."""
    if isinstance(message.id, tuple | list):
        english = [message.id[0], message.id[1]]
        return list(zip(english, message.string, strict=True))
    return [(message.id, message.string)]


def test_every_german_message_is_translated_and_not_fuzzy():
    catalogue = _catalogue()
    untranslated = [
        message.id for message in catalogue for _, german in _forms(message) if not german.strip()
    ]
    fuzzy = [message.id for message in catalogue if message.fuzzy]
    assert len(catalogue) > 500
    assert untranslated == []
    assert fuzzy == []


def test_german_messages_keep_their_placeholders_and_markup():
    # A translation that drops or renames %(amount)s raises at render time; one that breaks a tag breaks the page.
    wrong = []
    for message in _catalogue():
        for english, german in _forms(message):
            if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(german)):
                wrong.append(f"placeholders: {english!r} -> {german!r}")
            if sorted(TAG.findall(english)) != sorted(TAG.findall(german)):
                wrong.append(f"markup: {english!r} -> {german!r}")
    assert wrong == []


def test_the_catalogue_says_german_plural_forms():
    header = LOCALE_DE.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert '"Language: de\\n"' in header
    assert '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"' in header
    assert "#, fuzzy" not in header


def test_the_compiled_catalogue_is_the_po_file():
    # Given the .mo Django reads (compiled from the .po by `make messages`); then it has every translation
    # of the .po and nothing else: a .po edited without compiling fails here.
    with LOCALE_DE_MO.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog
    expected = {}
    for message in _catalogue():
        key = message.id if isinstance(message.id, str) else message.id[0]
        if message.context:
            key = f"{message.context}\x04{key}"
        if isinstance(message.id, str):
            expected[key] = message.string
        else:
            for index, german in enumerate(message.string):
                expected[(key, index)] = german
    compiled = {key: value for key, value in compiled.items() if key != ""}
    assert compiled == expected


@pytest.mark.parametrize(
    ("source", "german"),
    [
        ('{% translate "Add to cart" %}', "In den Warenkorb"),
        ('{% translate "Go to checkout" %}', "Zur Kasse"),
        ('{% translate "Main" context "main navigation" %}', "Hauptnavigation"),
        (
            "{% blocktranslate count counter=3 %}{{ counter }} product{% plural %}{{ counter }} products"
            "{% endblocktranslate %}",
            "3 Produkte",
        ),
        (
            "{% blocktranslate count counter=1 %}{{ counter }} product{% plural %}{{ counter }} products"
            "{% endblocktranslate %}",
            "1 Produkt",
        ),
        # dates: the format itself is translated, so English keeps "Tuesday 10 March 2026 at 14:05"
        ('{{ moment|date:_("l j F Y \\\\a\\\\t H:i") }}', "Dienstag, 10. März 2026 um 14:05"),
        ('{{ moment|date:_("j F Y") }}', "10. März 2026"),
    ],
)
def test_a_german_page_reads_the_catalogue(source, german):
    # Given the German catalogue; when a template renders in German, then it says the German text
    context = Context({"moment": datetime(2026, 3, 10, 14, 5)})
    with translation.override("de"):
        assert Template("{% load i18n %}" + source).render(context) == german
    with translation.override("en"):
        assert Template("{% load i18n %}" + source).render(context) != german


def test_an_english_date_is_written_as_before():
    source = (
        '{% load i18n %}{{ moment|date:_("l j F Y \\\\a\\\\t H:i") }} / {{ moment|date:_("j F Y, H:i") }}'
    )
    with translation.override("en"):
        text = Template(source).render(Context({"moment": datetime(2026, 3, 10, 14, 5)}))
    assert text == "Tuesday 10 March 2026 at 14:05 / 10 March 2026, 14:05"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            'Items total <span class="fw-normal text-body-secondary">(delivery is chosen at checkout, from €4.90)</span>',
        ),
        (
            "de",
            'Warenwert <span class="fw-normal text-body-secondary">(Versandart wählen Sie an der Kasse, ab 4,90\u00a0€)</span>',
        ),
    ],
)
def test_the_cart_names_the_cheapest_delivery_in_the_customers_language(client, language, expected):
    # Given a cart with an item in stock
    variant = VariantFactory(price="24.50")
    give_stock(variant, 5)
    with translation.override(language):
        client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 1})
        # When the cart page is shown in that language
        page = client.get(reverse("orders:cart")).content.decode()
    # Then its total names the cheapest delivery, in that language's words and money
    assert expected in page


def test_a_name_inside_a_sentence_keeps_german_capitals():
    source = '{% load shop_tags %}{{ "Standard delivery"|in_sentence }}'
    with translation.override("en"):
        assert Template(source).render(Context()) == "standard delivery"
    with translation.override("de"):
        assert Template(source).render(Context()) == "Standard delivery"


@pytest.mark.django_db
def test_a_missing_german_page_says_so_in_german(client):
    with translation.override("de"):  # and back afterwards: the middleware leaves German active
        response = client.get("/de/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="de">' in page
    assert "Diese Seite haben wir nicht gefunden" in page
    assert "We could not find that page" not in page

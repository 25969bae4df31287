"""Property tests: no input makes the parser raise, and valid AI sets survive every encoding."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.barcodes import ERROR_CODES, Parsed, parse_barcode
from backend.domain.barcodes.ai_values import CSET82
from backend.domain.barcodes.dictionary import AI_TABLE
from backend.domain.check_digits import gs1_check_digit

GS = "\x1d"
ESCAPED_BRACKET = "\\("
SCANNER_ALPHABET = "0123456789()<>%/?&=:.-_ABCxyz]\x1d\r\n\t |^~\\{}\u241d"


def assert_well_formed(parsed: Parsed) -> None:
    assert isinstance(parsed, Parsed)
    assert parsed.valid == (not parsed.errors)
    assert {problem.code for problem in parsed.errors} <= set(ERROR_CODES) - {"internal_error"}
    assert parsed.gtin is None or (len(parsed.gtin) == 14 and parsed.gtin.isdigit())


@settings(max_examples=400)
@given(st.text())
def test_arbitrary_text_never_raises(raw: str) -> None:
    assert_well_formed(parse_barcode(raw))


@settings(max_examples=400)
@given(
    st.sampled_from(["", "]C1", "]d2", "]Q3", "]Q1", "]E0", "https://x.example/", "(01)", "01"]),
    st.text(alphabet=SCANNER_ALPHABET, max_size=60),
    st.lists(st.sampled_from(["|", "^", "~", ""]), max_size=2),
)
def test_scanner_like_garbage_never_raises(prefix: str, body: str, separators: list[str]) -> None:
    assert_well_formed(parse_barcode(prefix + body, separators=separators))


def with_check(body: str) -> str:
    return body + str(gs1_check_digit(body))


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
gtins = st.text(alphabet="0123456789", min_size=13, max_size=13).map(with_check)
ssccs = st.text(alphabet="0123456789", min_size=17, max_size=17).map(with_check)
dates = st.builds(
    lambda y, m, d: f"{y:02d}{m:02d}{d:02d}",
    st.integers(0, 99),
    st.integers(1, 12),
    st.sampled_from([0, 1, 9, 15, 28]),
)
cset82 = st.text(alphabet=CSET82, min_size=1, max_size=20)
numeric = st.text(alphabet="0123456789", min_size=1, max_size=8)


@st.composite
def trade_item(draw: st.DrawFn) -> list[tuple[str, str]]:
    """A GTIN with a random selection of the attributes a trade item carries."""
    pairs = [("01", draw(gtins))]
    optional = {
        "11": dates, "13": dates, "15": dates, "16": dates, "17": dates,
        "10": cset82, "21": cset82, "22": cset82, "30": numeric, "3103": st.text(
            alphabet="0123456789", min_size=6, max_size=6
        ), "240": cset82, "91": cset82,
    }  # fmt: skip
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True))
    pairs += [(ai, draw(optional[ai])) for ai in draw(st.permutations(chosen))]
    return pairs


@st.composite
def logistic_unit(draw: st.DrawFn) -> list[tuple[str, str]]:
    """An SSCC, optionally with its content GTIN, count, lot and expiry."""
    pairs = [("00", draw(ssccs))]
    if draw(st.booleans()):
        pairs += [("02", draw(gtins)), ("37", draw(numeric))]
        pairs += [(ai, draw(s)) for ai, s in (("10", cset82), ("17", dates)) if draw(st.booleans())]
    if draw(st.booleans()):
        pairs.append(("400", draw(cset82)))
    return pairs


def element_string(pairs: list[tuple[str, str]], separator: str = GS) -> str:
    parts = []
    for index, (ai, value) in enumerate(pairs):
        parts.append(ai + value)
        if not AI_TABLE[ai].predefined_length and index < len(pairs) - 1:
            parts.append(separator)
    return "".join(parts)


def bracketed(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"({ai})" + value.replace("(", ESCAPED_BRACKET) for ai, value in pairs)


def digital_link(pairs: list[tuple[str, str]]) -> str:
    values = dict(pairs)
    path = "".join(
        f"/{ai}/{quote(values[ai], safe='')}" for ai in ("01", "22", "10", "21") if ai in values
    )
    query = "&".join(
        f"{ai}={quote(value, safe='')}" for ai, value in pairs if ai not in ("01", "22", "10", "21")
    )
    return "https://id.example.com" + path + ("?" + query if query else "")


@settings(max_examples=300)
@given(st.one_of(trade_item(), logistic_unit()), st.sampled_from(["", "]C1", "]d2", "]Q3"]))
def test_valid_ai_sets_round_trip_as_element_strings(
    pairs: list[tuple[str, str]], symbology: str
) -> None:
    parsed = parse_barcode(symbology + element_string(pairs))
    assert parsed.valid, parsed.errors
    assert list(parsed.ais.items()) == pairs


@settings(max_examples=200)
@given(st.one_of(trade_item(), logistic_unit()))
def test_valid_ai_sets_round_trip_with_wedge_separators(pairs: list[tuple[str, str]]) -> None:
    parsed = parse_barcode("]C1" + element_string(pairs, "|"), separators=["|"])
    assert parsed.valid, parsed.errors
    assert list(parsed.ais.items()) == pairs


@settings(max_examples=300)
@given(st.one_of(trade_item(), logistic_unit()))
def test_valid_ai_sets_round_trip_as_bracketed_text(pairs: list[tuple[str, str]]) -> None:
    parsed = parse_barcode(bracketed(pairs))
    assert parsed.valid, parsed.errors
    assert list(parsed.ais.items()) == pairs


@settings(max_examples=300)
@given(trade_item())
def test_valid_ai_sets_round_trip_as_digital_links(pairs: list[tuple[str, str]]) -> None:
    parsed = parse_barcode(digital_link(pairs))
    assert parsed.valid, parsed.errors
    assert parsed.kind == "digital_link"
    assert parsed.ais == dict(pairs)

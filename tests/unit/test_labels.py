"""The pure label rules: element strings, human-readable text and ZPL, read back by our parser."""

from __future__ import annotations

import re
from datetime import date

import pytest

from backend.domain.barcodes import parse_barcode
from backend.domain.barcodes.messages import GS
from backend.domain.labels import (
    Barcode,
    LabelError,
    LabelSize,
    LotFacts,
    badge_label,
    bracketed,
    code128_modules,
    datamatrix_side,
    element_string,
    location_label,
    lot_ais,
    lot_label,
    zpl,
)
from backend.labels.drawing import lay_out, modules
from backend.labels.svg import svg

GTIN = "09506000134352"
FACTS = LotFacts(
    gtin=GTIN, lot="L24-0007", product_name="Oat drink 1 l", sku="OAT-1", expiry=date(2026, 12, 31)
)


def zpl_barcode_data(text: str) -> list[str]:
    """The element strings (GS between values) or plain texts the ZPL's symbols would carry."""
    found = []
    for command, data in re.findall(r"\^(BC|BX)[^\^]*\^FD(.*?)\^FS", text):
        if command == "BX":
            assert data.startswith("_1")
            found.append(data[2:].replace("_1", GS).replace("_d095", "_"))
        elif data.startswith(">;>8"):
            found.append(data[4:].replace(">8", GS).replace("><", ">"))
        else:
            found.append(data.replace("><", ">"))
    return found


def test_fixed_length_ais_come_first_and_only_variable_ones_before_another_take_a_gs():
    ais = lot_ais(FACTS, serial="SN-42")
    assert ais == [("01", GTIN), ("17", "261231"), ("10", "L24-0007"), ("21", "SN-42")]
    assert element_string(ais) == f"01{GTIN}17261231" + f"10L24-0007{GS}21SN-42"


def test_the_last_variable_value_takes_no_gs():
    assert element_string(lot_ais(FACTS)) == f"01{GTIN}1726123110L24-0007"


def test_best_before_is_used_when_the_lot_has_no_expiry():
    facts = LotFacts(GTIN, "B1", "Tea", "TEA", best_before=date(2027, 3, 1))
    assert bracketed(lot_ais(facts)) == f"(01){GTIN}(15)270301(10)B1"


def test_a_lot_without_dates_carries_gtin_and_lot_only():
    assert bracketed(lot_ais(LotFacts(GTIN, "X", "Tea", "TEA"))) == f"(01){GTIN}(10)X"


@pytest.mark.parametrize("serial", [None, "SN-42", "A_B>C"])
def test_our_parser_reads_the_element_string_back_to_the_lot(serial):
    parsed = parse_barcode("]d2" + element_string(lot_ais(FACTS, serial)))
    assert parsed.valid, parsed.errors
    assert (parsed.gtin, parsed.lot, parsed.expiry, parsed.serial) == (
        GTIN,
        "L24-0007",
        date(2026, 12, 31),
        serial,
    )


def test_the_human_readable_text_is_bracketed_and_ends_the_label():
    label = lot_label(FACTS, "datamatrix", serial="7")
    assert label.lines[-1] == f"(01){GTIN}(17)261231(10)L24-0007(21)7"
    assert label.lines[0] == "Oat drink 1 l"
    assert label.barcode.data == label.lines[-1]


@pytest.mark.parametrize(
    ("facts", "serial", "field"),
    [
        (LotFacts(None, "L1", "Tea", "TEA"), None, "gtin"),
        (LotFacts("09506000134353", "L1", "Tea", "TEA"), None, "gtin"),
        (LotFacts(GTIN, "LOT ONE", "Tea", "TEA"), None, "lot"),
        (LotFacts(GTIN, "L(1)", "Tea", "TEA"), None, "lot"),
        (FACTS, "", "serial"),
        (FACTS, "x" * 21, "serial"),
        (FACTS, "café", "serial"),
    ],
)
def test_values_a_gs1_label_cannot_carry_are_refused_naming_the_field(facts, serial, field):
    with pytest.raises(LabelError) as refused:
        lot_ais(facts, serial)
    assert refused.value.field == field


@pytest.mark.parametrize("serial", [None, "SN_1>2"])
def test_zpl_datamatrix_carries_fnc1_first_and_after_variable_values(serial):
    text = zpl([lot_label(FACTS, "datamatrix", serial)])
    assert "^BXN,4,200,,,,_^FD_1" in text
    assert zpl_barcode_data(text) == [element_string(lot_ais(FACTS, serial))]


@pytest.mark.parametrize("serial", [None, "SN_1>2"])
def test_zpl_gs1_128_starts_with_fnc1_and_separates_with_it(serial):
    text = zpl([lot_label(FACTS, "gs1-128", serial)])
    assert "^BCN," in text and ",N,N,N,A^FD>;>8" in text
    assert zpl_barcode_data(text) == [element_string(lot_ais(FACTS, serial))]


def test_zpl_prints_the_human_readable_lines_and_the_copies():
    text = zpl([lot_label(FACTS, "gs1-128")], copies=3)
    fields = re.findall(r"\^A0N,\d+,\d+\^FH\\\^FD(.*?)\^FS", text)
    assert fields == [
        "Oat drink 1 l",
        "SKU OAT-1   LOT L24-0007",
        "EXP 2026-12-31",
        bracketed(lot_ais(FACTS)),
    ]
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ") and "^PQ3" in text


def test_zpl_escapes_caret_and_tilde_in_text():
    text = zpl([badge_label("BADGE-ANA", "Ana ^XZ ~JR")])
    assert "^FDAna \\5EXZ \\7EJR^FS" in text
    assert text.count("^XZ") == 1


def test_zpl_label_size_and_resolution_set_width_length_and_module_size():
    text = zpl([lot_label(FACTS, "datamatrix")], LabelSize(width_mm=50.8, height_mm=25.4, dpi=300))
    assert "^PW600" in text and "^LL300" in text
    assert "^BXN,6,200" in text
    default = zpl([lot_label(FACTS, "gs1-128")])
    assert "^PW799" in default and "^LL400" in default and "^BY2^BC" in default


def test_location_and_badge_labels_are_plain_code_128_of_their_text():
    location = location_label("LOC-MAIN-A-01-01", "MAIN", "A-01-01")
    badge = badge_label("BADGE-RECEIVER", "Rita Receiver")
    assert (location.barcode.symbology, location.barcode.gs1) == ("code128", False)
    assert location.lines == ("MAIN A-01-01", "LOC-MAIN-A-01-01")
    assert badge.lines == ("Rita Receiver", "BADGE-RECEIVER")
    text = zpl([location, badge])
    assert text.count("^XA") == 2
    assert zpl_barcode_data(text) == ["LOC-MAIN-A-01-01", "BADGE-RECEIVER"]
    assert parse_barcode("]C0" + zpl_barcode_data(text)[0]).kind == "location"
    assert parse_barcode("]C0" + zpl_barcode_data(text)[1]).kind == "badge"


def test_the_svg_is_sized_in_millimetres_with_crisp_modules():
    text = svg(
        lay_out(lot_label(LotFacts(GTIN, "X1", "Oats & <co>", "OATS"), "datamatrix"), 100, 50)
    )
    assert re.search(r'width="100mm" height="50mm" viewBox="0 0 100 50"', text)
    assert 'shape-rendering="crispEdges"' in text
    assert "Oats &amp; &lt;co&gt;" in text


LONG = LotFacts(GTIN, "LONG-LOT-CODE-0001AB", "Tea", "TEA", expiry=date(2027, 1, 1))


@pytest.mark.parametrize(
    "label",
    [
        lot_label(FACTS, "datamatrix"),
        lot_label(FACTS, "datamatrix", "SN-0042"),
        lot_label(LONG, "datamatrix", "SERIAL-0000000000001"),
        location_label("LOC-MAIN-A-01-01", "MAIN", "A-01-01"),
        badge_label("BADGE-RECEIVER", "Rita"),
    ],
)
def test_zpl_room_for_a_symbol_is_never_less_than_the_symbol_the_encoder_draws(label):
    # zxing-cpp's encoder stands in for the printer's: the estimates must cover what it draws.
    gs1 = label.barcode.gs1
    text = element_string(label.barcode.ais) if gs1 else label.barcode.data
    linear = modules(Barcode("gs1-128" if gs1 else "code128", label.barcode.data))
    assert linear.shape[1] <= code128_modules(text, gs1=gs1) <= linear.shape[1] * 1.4
    if gs1:
        matrix = modules(label.barcode)
        assert matrix.shape[0] == matrix.shape[1] <= datamatrix_side(text, gs1=True)


def test_a_long_gs1_128_narrows_its_bars_to_fit_and_is_refused_when_one_dot_is_too_wide():
    label = lot_label(LONG, "gs1-128", "SERIAL-0000000000001")
    modules = code128_modules(element_string(label.barcode.ais), gs1=True) + 20
    fine = LabelSize(70, 37, 300)
    text = zpl([label], fine)
    assert re.search(r"\^BY1\^BC", text)
    assert modules <= fine.dots(70) - 2 * fine.dots(2)
    with pytest.raises(LabelError) as refused:
        zpl([label], LabelSize(70, 37, 203))
    assert refused.value.field == "size"
    assert re.search(r"\^BY2\^BC", zpl([lot_label(FACTS, "gs1-128")]))

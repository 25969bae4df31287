"""What the barcode parser reads from each kind of scan, and what it refuses, per GS1 rules."""

from __future__ import annotations

from datetime import date

import pytest

from backend.domain.barcodes import Parsed, parse_barcode
from backend.domain.barcodes.ai_values import gmn_check_pair, resolve_two_digit_year
from backend.domain.barcodes.dictionary import AI_TABLE

GS = "\x1d"
GTIN = "09506000134352"


def codes(parsed: Parsed) -> set[str]:
    return {problem.code for problem in parsed.errors}


def test_datamatrix_element_string_fills_every_field() -> None:
    parsed = parse_barcode(f"]d201{GTIN}17270131{GS}10LOT-0725-C3{GS}21SN123")
    assert parsed.valid and parsed.kind == "gs1" and parsed.symbology == "]d2"
    assert (parsed.gtin, parsed.lot, parsed.serial) == (GTIN, "LOT-0725-C3", "SN123")
    assert parsed.expiry == date(2027, 1, 31)
    assert list(parsed.ais.items()) == [
        ("01", GTIN), ("17", "270131"), ("10", "LOT-0725-C3"), ("21", "SN123"),
    ]  # fmt: skip


def test_symbology_given_apart_from_the_data_is_reported() -> None:
    parsed = parse_barcode(f"01{GTIN}10ABC", symbology="C1")
    assert parsed.valid and parsed.symbology == "]C1"


def test_symbology_in_data_and_argument_must_agree() -> None:
    assert "symbology_mismatch" in codes(parse_barcode(f"]C101{GTIN}", symbology="]Q3"))


def test_bracketed_text_is_read_like_an_element_string() -> None:
    parsed = parse_barcode(f"(01){GTIN}(17)270131(10)LOT-0725-C3")
    assert parsed.valid and parsed.ais == {"01": GTIN, "17": "270131", "10": "LOT-0725-C3"}


def test_bracketed_text_allows_an_escaped_bracket_in_a_value() -> None:
    assert parse_barcode(f"(01){GTIN}(10)A\\(B)").lot == "A(B)"


def test_day_00_means_the_last_day_of_the_month() -> None:
    assert parse_barcode(f"]C101{GTIN}17280200").expiry == date(2028, 2, 29)
    assert parse_barcode(f"]C101{GTIN}15270200").best_before == date(2027, 2, 28)


@pytest.mark.parametrize("yymmdd", ["271301", "270231", "270431", "270229", "27013"])
def test_impossible_dates_are_rejected(yymmdd: str) -> None:
    parsed = parse_barcode(f"]C101{GTIN}17{yymmdd}")
    assert not parsed.valid and codes(parsed) & {"invalid_date", "invalid_length"}
    assert parsed.expiry is None


def test_day_00_is_refused_where_the_ai_demands_a_real_day() -> None:
    assert "invalid_date" in codes(parse_barcode(f"]C101{GTIN}7006270100"))


@pytest.mark.parametrize(
    ("yy", "current", "year"),
    [(26, 2026, 2026), (76, 2026, 2076), (77, 2026, 1977), (99, 2050, 2099), (0, 2051, 2100)],
)
def test_two_digit_years_fall_within_49_back_and_50_ahead(yy: int, current: int, year: int) -> None:
    assert resolve_two_digit_year(yy, current) == year


def test_plain_gtins_of_every_length_become_14_digits() -> None:
    for raw in ("96385074", "012345678905", "4006381333931", GTIN):
        parsed = parse_barcode(raw)
        assert parsed.valid and parsed.kind == "gtin" and parsed.gtin == raw.rjust(14, "0")


def test_plain_18_digits_are_an_sscc() -> None:
    parsed = parse_barcode("106141412345678908")
    assert parsed.valid and parsed.kind == "sscc" and parsed.sscc == "106141412345678908"


@pytest.mark.parametrize(
    "raw",
    ["09506000134353", "]C101095060001343530", "]C100106141412345678909", "]C14141234567890120"],
)
def test_wrong_check_digits_of_gtin_sscc_and_gln_are_rejected(raw: str) -> None:
    assert "invalid_check_digit" in codes(parse_barcode(raw))


def test_ean_and_itf_symbologies_carry_gtins_of_their_own_length() -> None:
    assert parse_barcode("]E04006381333931").gtin == "04006381333931"
    assert parse_barcode("]E496385074").gtin == "00000096385074"
    assert parse_barcode(f"]I1{GTIN}").gtin == GTIN
    assert "invalid_length" in codes(parse_barcode("]E496385074000"))


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("LOC-A-01-02", "location"), ("BADGE-PICKER", "badge"), ("TOTE-0042", "internal")],
)
def test_lotline_labels_keep_their_text(raw: str, kind: str) -> None:
    parsed = parse_barcode(raw + "\r\n")
    assert parsed.valid and parsed.kind == kind and parsed.label == raw


def test_anything_else_is_unknown_with_a_code() -> None:
    parsed = parse_barcode("hello")
    assert not parsed.valid and parsed.kind == "unknown" and codes(parsed) == {"unrecognised"}


def test_missing_gs_after_a_variable_length_value_is_named() -> None:
    parsed = parse_barcode(f"]C101{GTIN}10ABC21XYZ" + "A" * 20)
    assert "missing_gs" in codes(parsed)


def test_fixed_length_ais_outside_the_predefined_table_still_need_gs() -> None:
    # 8006 is 18 digits, but not in GenSpec 7.8.5's table: its value runs to the next GS.
    parsed = parse_barcode("]C1800609506000134352020210ABC")
    assert "missing_gs" in codes(parsed)


def test_wedge_stand_ins_for_gs_are_accepted_when_configured() -> None:
    parsed = parse_barcode(f"01{GTIN}10ABC|21X^17270131", separators=["|", "^"])
    assert parsed.valid and parsed.serial == "X" and parsed.lot == "ABC"


@pytest.mark.parametrize("form", ["<GS>", "{GS}", "\\x1d", "\\u001d", "^]", "\u241d"])
def test_textual_forms_of_gs_are_always_accepted(form: str) -> None:
    parsed = parse_barcode(f"]C101{GTIN}10ABC{form}21X")
    assert parsed.valid and (parsed.lot, parsed.serial) == ("ABC", "X")


def test_trailing_cr_lf_tab_are_trimmed_but_a_trailing_gs_is_kept_meaningful() -> None:
    assert parse_barcode(f"]C101{GTIN}10ABC{GS}\r\n").lot == "ABC"
    assert parse_barcode(f"]C101{GTIN}10ABC{GS}21X\t").serial == "X"


def test_ai_character_sets_are_enforced() -> None:
    assert "invalid_character" in codes(parse_barcode(f"]C101{GTIN}10AB CD"))
    assert "invalid_character" in codes(parse_barcode(f"]C101{GTIN}10ÄBC"))
    assert "invalid_character" in codes(parse_barcode("]C18010abcde"))  # CSET 39 is upper case
    assert parse_barcode("]C18010AB-/#9").valid


def test_unknown_ais_stop_the_reading() -> None:
    parsed = parse_barcode(f"]C101{GTIN}2300ABC")
    assert "unknown_ai" in codes(parsed) and parsed.ais == {"01": GTIN}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (f"]C101{GTIN}02{GTIN}3710", "ai_excludes"),  # (01) and (02) never together
        ("]C11727013110ABC", "ai_requires"),  # (17), (10) need a GTIN
        ("]C100106141412345678908375", "ai_requires"),  # (37) needs (02)
        (f"]C102{GTIN}", "ai_requires"),  # (02) needs (37)
        (f"]C101{GTIN}31030001233102000001", "ai_excludes"),  # two net weights in kg
        (f"]C101{GTIN}21X{GS}235Y", "ai_excludes"),
        (f"]C101{GTIN}250X", "ai_requires"),  # (250) needs (21) too
    ],
)
def test_genspec_pairing_rules(raw: str, code: str) -> None:
    assert code in codes(parse_barcode(raw))


def test_a_pallet_label_with_content_and_count_is_valid() -> None:
    parsed = parse_barcode(f"]C100106141412345678908{'02'}{GTIN}3712{GS}10L1{GS}17270100")
    assert parsed.valid, parsed.errors
    assert (parsed.sscc, parsed.count, parsed.gtin) == ("106141412345678908", 12, GTIN)


def test_repeating_an_ai_with_the_same_value_is_harmless_but_not_with_another() -> None:
    assert parse_barcode(f"(01){GTIN}(10)A(10)A").valid
    assert "duplicate_ai" in codes(parse_barcode(f"(01){GTIN}(10)A(10)B"))


def test_content_checks_of_specialised_ais() -> None:
    assert "invalid_value" in codes(parse_barcode("]C18006095060001343520302"))  # piece 3 of 2
    assert parse_barcode("]C18006095060001343520202").valid
    assert "invalid_check_digit" in codes(parse_barcode("]C180131987654Ad4X4bL5ttr2310cXK"))
    assert parse_barcode("]C180131987654Ad4X4bL5ttr2310c2K").valid
    assert "invalid_time" in codes(parse_barcode(f"]C101{GTIN}800827010124"))
    assert "invalid_value" in codes(parse_barcode("]C1001061414123456789084321" + "2"))


@pytest.mark.parametrize(
    ("body", "pair"),
    [
        ("1987654Ad4X4bL5ttr2310c", "2K"),
        ("12345678901234567890123", "NT"),
        ("12345_ABCDEFGHIJKLM", "CP"),
    ],
)
def test_gmn_check_pair_matches_the_genspec_examples(body: str, pair: str) -> None:
    assert gmn_check_pair(body) == pair


def test_digital_link_reads_path_and_query() -> None:
    parsed = parse_barcode(
        f"https://example.com/shop/01/{GTIN}/10/LOT%2F7/21/S1?17=270131&linkType=x"
    )
    assert parsed.valid and parsed.kind == "digital_link"
    assert parsed.ais == {"01": GTIN, "10": "LOT/7", "21": "S1", "17": "270131"}


def test_digital_link_symbologies_carry_uris() -> None:
    parsed = parse_barcode(f"]Q1HTTPS://id.gs1.org/01/{GTIN}")
    assert parsed.valid and parsed.symbology == "]Q1" and parsed.gtin == GTIN


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        (f"ftp://id.gs1.org/01/{GTIN}", "bad_scheme"),
        (f"https://id.gs1.org/01/{GTIN}/21/X/10/Y", "dl_invalid_path"),  # order
        (f"https://id.gs1.org/01/{GTIN}/17/270131", "dl_invalid_path"),  # not a qualifier
        (f"https://id.gs1.org/10/ABC/01/{GTIN}", "dl_invalid_path"),
        ("https://id.gs1.org/10/ABC", "dl_missing_key"),
        (f"https://id.gs1.org/01/{GTIN}?10=ABC", "dl_invalid_query"),
        (f"https://id.gs1.org/01/{GTIN}/10/A?10=B", "dl_invalid_query"),
        (f"https://id.gs1.org/01/{GTIN}?9999=1", "unknown_ai"),
        (f"https://id.gs1.org/01/{GTIN}/10/A%2", "invalid_uri"),
        (f"https://id.gs1.org/01/{GTIN}?17=271301", "invalid_date"),
        ("https://id.gs1.org/01/09506000134353", "invalid_check_digit"),
        (f"https://id.gs1.org/01/{GTIN}?3103=1&3102=000001", "invalid_length"),
    ],
)
def test_digital_link_errors(uri: str, code: str) -> None:
    parsed = parse_barcode(uri)
    assert not parsed.valid and code in codes(parsed)


def test_other_primary_keys_and_their_qualifiers_in_digital_link() -> None:
    assert parse_barcode("https://a.example/00/106141412345678908").valid
    assert parse_barcode("https://a.example/414/9521234500018/254/A1").valid
    assert "dl_invalid_path" in codes(parse_barcode("https://a.example/414/9521234500018/10/A"))


def test_every_ai_in_biip_is_in_our_table_and_ours_only_adds_aliases() -> None:
    from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS

    assert set(_GS1_APPLICATION_IDENTIFIERS) <= set(AI_TABLE)

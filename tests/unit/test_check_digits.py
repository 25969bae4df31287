import pytest

from backend.domain.check_digits import gs1_check_digit, is_valid_gtin, normalize_gtin


@pytest.mark.parametrize(
    "gtin",
    ["09506000134352", "9506000134352", "96385074", "036000291452", "4006381333931"],
)
def test_published_gtins_are_valid(gtin):
    assert is_valid_gtin(gtin)


@pytest.mark.parametrize(
    "gtin", ["09506000134353", "96385075", "036000291453", "12345", "0950600013435a", ""]
)
def test_wrong_check_digits_and_shapes_are_refused(gtin):
    assert not is_valid_gtin(gtin)
    assert normalize_gtin(gtin) is None


def test_gtins_are_normalised_to_fourteen_digits():
    assert normalize_gtin("96385074") == "00000096385074"
    assert normalize_gtin("4006381333931") == "04006381333931"


def test_check_digit_matches_the_gs1_worked_example():
    # GS1 General Specifications, 7.9.1: GTIN-13 629104150021 -> check digit 3
    assert gs1_check_digit("629104150021") == 3


def test_non_ascii_digits_are_not_digits():
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in "09506000134352")
    assert not is_valid_gtin(fullwidth)

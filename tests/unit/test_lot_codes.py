from datetime import date

import pytest

from backend.domain.lot_codes import (
    DEFAULT_TEMPLATE,
    LotCodeError,
    is_printable_lot_code,
    render_lot_code,
    validate_template,
)

DAY = date(2026, 3, 7)


def render(template: str, sequence: int = 7, supplier: str | None = "ACME") -> str:
    return render_lot_code(template, day=DAY, sku="OAT-1", supplier=supplier, sequence=sequence)


def test_every_placeholder_is_filled():
    assert render("{YY}{MM}{DD}-{SEQ:3}") == "260307-007"
    assert render("{YYYY}{SUPPLIER}{SEQ:2}") == "2026ACME07"
    assert render("{SKU}-{SEQ}") == "OAT-1-7"


def test_sequence_wider_than_its_padding_is_kept_whole():
    assert render("L{SEQ:2}", sequence=12345) == "L12345"


def test_default_template_makes_a_printable_code():
    code = render(DEFAULT_TEMPLATE, sequence=1)
    assert code == "260307-0001"
    assert is_printable_lot_code(code)


def test_missing_supplier_leaves_its_place_empty():
    assert render("{SUPPLIER}{SEQ:3}", supplier=None) == "007"


@pytest.mark.parametrize(
    "template",
    ["{YY}{MM}", "{SEQ:3}{WHAT}", "{SEQ:3}}", "{{SEQ:3}", "{SEQ:0}", "{SEQ:13}"],
)
def test_templates_that_cannot_make_unique_codes_are_refused(template):
    with pytest.raises(LotCodeError) as error:
        validate_template(template)
    assert error.value.code == "invalid_lot_template"


def test_width_on_a_date_placeholder_is_refused():
    with pytest.raises(LotCodeError):
        render("{YY:2}{SEQ:3}")


def test_code_longer_than_gs1_allows_is_refused():
    with pytest.raises(LotCodeError) as error:
        render("VERY-LONG-PREFIX-{SKU}-{SEQ:6}")
    assert error.value.code == "invalid_lot_code"


def test_code_with_characters_outside_cset82_is_refused():
    with pytest.raises(LotCodeError):
        render("LOT#{SEQ:3}")
    with pytest.raises(LotCodeError):
        render("LOT {SEQ:3}")


def test_distinct_sequences_give_distinct_codes():
    codes = {render("{YY}{MM}{DD}{SEQ:2}", sequence=n) for n in range(1, 500)}
    assert len(codes) == 499

from datetime import date

from backend.domain.lot_records import derived_expiry, record_conflicts


def test_expiry_given_wins_over_shelf_life():
    assert derived_expiry(date(2027, 1, 31), date(2026, 1, 1), 100) == date(2027, 1, 31)


def test_expiry_is_production_plus_shelf_life_when_missing():
    assert derived_expiry(None, date(2026, 1, 1), 365) == date(2027, 1, 1)


def test_no_expiry_without_production_date_or_shelf_life():
    assert derived_expiry(None, None, 365) is None
    assert derived_expiry(None, date(2026, 1, 1), None) is None


def test_omitted_fields_never_conflict():
    recorded = {"expiry_date": date(2027, 1, 31), "supplier_lot_code": "S-1"}
    assert record_conflicts(recorded, {"expiry_date": None, "supplier_lot_code": None}) == []


def test_differing_and_newly_given_fields_conflict():
    recorded = {"expiry_date": date(2027, 1, 31), "production_date": None}
    given = {"expiry_date": date(2027, 2, 1), "production_date": date(2026, 1, 1)}
    assert record_conflicts(recorded, given) == ["expiry_date", "production_date"]

"""`lotline check` must fail when a balance drifts from the ledger."""

from __future__ import annotations

from tests.integration.arrange import add_product, build_site, ok, receive
from tests.integration.test_ledger import lotline_check


async def test_check_reports_a_balance_that_disagrees_with_the_ledger(
    admin_client, db, database_url
):
    site = await build_site(admin_client)
    await add_product(admin_client, sku="SALT")
    body = await ok(
        receive(admin_client, sku="SALT", lotCode="S1", quantity=5, location=site.bins[0])
    )
    assert lotline_check(database_url).returncode == 0

    await db.execute(
        "UPDATE stock_balance SET quantity = quantity + 1 WHERE lot_id = $1", body["lot"]["id"]
    )
    result = lotline_check(database_url)
    assert result.returncode == 1
    assert "ledger says 5, found 6" in result.stderr


async def test_check_reports_serials_that_disagree_with_the_balance(admin_client, db, database_url):
    site = await build_site(admin_client, suffix="S")
    await add_product(admin_client, sku="RADIO", tracking="serial")
    body = await ok(
        receive(admin_client, sku="RADIO", quantity=2, location=site.bins[0], serials=["R1", "R2"])
    )
    await db.execute("UPDATE stock_balance SET quantity = 1 WHERE lot_id = $1", body["lot"]["id"])
    await db.execute("UPDATE serial SET location_id = NULL WHERE serial = 'R2'")
    # Balance and serials now agree (1 and 1), but the ledger says 2.
    result = lotline_check(database_url)
    assert result.returncode == 1
    assert "balance" in result.stderr

"""The movement ledger and the stock balances it keeps."""

"""lotline: lot and batch tracking for e-commerce warehouses."""

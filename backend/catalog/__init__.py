"""Catalogue: warehouses, locations, suppliers and products with their GTINs."""

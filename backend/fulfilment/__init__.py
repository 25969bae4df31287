"""Fulfilment by lot: orders, allocation in waves, picking, packing and shipping."""

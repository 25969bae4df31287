"""Trace: a lot forward to customers, an order back to lots; recall and regulator exports."""

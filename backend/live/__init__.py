"""The live channel: durable messages per warehouse, pushed to handhelds over WebSockets."""

"""Page handlers for the handheld shell and the console."""

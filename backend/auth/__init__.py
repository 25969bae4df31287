"""Users, roles, devices, sign-in tokens and the role guard."""

"""The seeded demo scenario simulator (pure: a function of scenario time)."""

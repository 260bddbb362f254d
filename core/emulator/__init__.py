"""A local Stripe API emulator for the Connect resources Connect Ops uses.

A real HTTP server speaking Stripe's wire format, seeded with a deterministic demo platform.
It imports nothing from the rest of the app, so it can be lifted out or run on its own.
"""

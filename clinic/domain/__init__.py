"""The pure domain core: time intervals, booking rules, the visit state machine.

Nothing here imports Flask or SQLAlchemy; every function takes the facts it needs and
the current instant explicitly, so the rules can be unit-tested in milliseconds.
"""

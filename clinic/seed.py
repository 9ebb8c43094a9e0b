"""The demo clinic for `make run` (being written)."""


def seed_if_empty(echo) -> None:
    """Seed a demo clinic if the database is empty."""
    echo("no seed yet")

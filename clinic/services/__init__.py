"""Use cases: load, ask the domain, write, commit. The only layer that commits."""

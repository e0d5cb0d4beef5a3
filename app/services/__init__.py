"""Use cases: one function each; a service owns its transaction."""

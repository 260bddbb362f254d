"""Finance: GMV, revenue, margin, take rate and losses from the mirror (definitions, cache, queries, view)."""

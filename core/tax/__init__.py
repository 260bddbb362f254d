"""Tax forms (finance): 1099-K and 1099-NEC per US connected account and year, previewed, checked, exported."""

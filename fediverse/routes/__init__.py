"""HTTP routes: each parses, calls one function that does the work, and serialises."""

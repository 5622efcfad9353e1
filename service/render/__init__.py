"""Pictures of the service's results, drawn with matplotlib (no display, no pyplot)."""

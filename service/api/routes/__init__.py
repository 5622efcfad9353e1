"""Routers, one per resource; only service.main imports them."""

"""route_classes."""

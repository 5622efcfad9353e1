"""backprop-service: forward, backward, gradient checking and training for the course's graph."""

__version__ = "0.1.0"

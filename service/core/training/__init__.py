"""Training: readable optimizers, their specs, the compiled kernel and the loops around it."""

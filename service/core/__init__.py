"""Pure numerics: the graph, optimizers, gradient checking, training, grading (no web imports)."""

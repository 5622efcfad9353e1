"""Grading: comparison policies, the four tasks' graders and the catalogue of wrong versions."""

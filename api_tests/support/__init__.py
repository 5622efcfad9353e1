"""Helpers shared by the contract tests: the course's numbers, clients, hostile bodies."""

"""Graphs as data: definitions parsed and validated, differentiated, evaluated and compiled."""

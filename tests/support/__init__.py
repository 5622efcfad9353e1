"""Test support code that is not itself a test: data and helpers shared by test modules."""

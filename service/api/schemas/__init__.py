"""Request and response models, one module per resource, on the strict base in base.py."""

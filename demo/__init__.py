"""Synthetic, medically shaped raw data for the demo, the tests and bench/ (make_demo_data.py)."""

"""The inference graph from a model spec, and what is built on it: predict, export for serving, Grad-CAM."""

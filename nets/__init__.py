"""Network definitions, looked up by TF-Slim model name (see nets_factory)."""

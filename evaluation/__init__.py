"""Evaluation of checkpoints: the eval loop, metrics, reports, continuous evaluation."""

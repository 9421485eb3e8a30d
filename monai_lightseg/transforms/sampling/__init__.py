"""Sampling for training: lesion-free windows of lesion-bearing frames."""

"""Plots and reports: reliability diagrams, ROC curves, score breakdowns."""

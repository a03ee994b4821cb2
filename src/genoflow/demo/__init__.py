"""The deterministic demo / test dataset: simulate a sample, score calls against its truth."""

from genoflow.demo.evaluate import Scores, TypeScores, evaluate
from genoflow.demo.simulate import DemoData, simulate

__all__ = ["DemoData", "Scores", "TypeScores", "evaluate", "simulate"]

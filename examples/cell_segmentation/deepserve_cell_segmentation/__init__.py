"""deepserve example model: instance segmentation of cell nuclei in microscopy images."""

__version__ = "0.1.0"

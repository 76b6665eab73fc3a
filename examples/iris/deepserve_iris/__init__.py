"""deepserve example model: a scikit-learn classifier of Fisher's iris flowers."""

__version__ = "0.1.0"

"""deepserve example model: day-ahead electrical load forecasting with scikit-learn."""

__version__ = "0.1.0"

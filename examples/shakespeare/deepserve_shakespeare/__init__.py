"""deepserve example model: text generated word by word from Shakespeare's plays, streamed."""

__version__ = "0.1.0"

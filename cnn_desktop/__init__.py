"""cnn-desktop: a desktop application that makes a convolutional network tangible."""

__version__ = "0.1.0"

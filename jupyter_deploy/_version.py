"""The package version, in a module of its own: the compiler and the builder import it
without importing the package's face (which reaches up to the server and the magics)."""

__version__ = "0.1.0"

"""The Jupyter server extension: REST API, kernel capture and build events."""

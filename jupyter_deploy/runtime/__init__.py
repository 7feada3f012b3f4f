"""The model service: an ASGI app around a bundle's `predict`, and the process that serves it.

Copied into every bundle as `jupyter_deploy_runtime/`: relative imports only, and nothing but
the standard library and uvicorn (numpy and pandas are handled when the model brings them).
"""

"""The REST API (v1): a thin FastAPI shell over billing/'s services, mounted at /api beside the portal."""

"""The sign-in page and session cookie served over HTTP beside the portal (Starlette routes and middleware)."""

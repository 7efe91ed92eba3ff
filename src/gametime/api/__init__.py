"""The HTTP API: FastAPI routers over the services, with OpenAPI at /docs."""

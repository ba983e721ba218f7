"""The REST adapter: FastAPI routers that parse HTTP, call a service and shape the answer."""

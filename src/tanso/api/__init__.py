"""The HTTP adapter: FastAPI routes parse, call one service function and shape the answer."""

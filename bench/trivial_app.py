"""The HTTP ceiling for bench/orders.py: a trivial async FastAPI `POST /v1/orders`, served by
uvicorn with the settings `tanso serve` uses. It parses the same JSON body and answers 201 with
an order-shaped JSON document, touching no database: `python bench/trivial_app.py PORT`."""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/orders", status_code=201)
async def place(body: dict[str, Any]) -> dict[str, Any]:
    return {"id": "O1", "status": "open", "remaining": body.get("quantity"), **body}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info", proxy_headers=False)

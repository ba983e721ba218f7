"""The peer: Eve (python-eve: Flask + sync PyMongo) serving the same contact collection on the same database.

Run under gunicorn (threads, as a typical Eve deployment):

    BENCH_MONGODB_URL=... BENCH_DB=bench_ws_default gunicorn -k gthread --threads 8 bench.eve_app:app

Same filter and sort as the gateway's list: ``/contact?where={"source":"website"}&sort=last_name,_id``,
page of 25 with the total count (Eve's default pagination). Eve runs without auth here; the gateway
checks a JWT and loads the user on every request, so gateway/Eve includes that work.
"""

from __future__ import annotations

import os
from typing import Any

from eve import Eve

_SOURCES = ["website", "referral", "event", "outbound", "import", "other"]

CONTACT_SCHEMA: dict[str, Any] = {
    "first_name": {"type": "string", "required": True},
    "last_name": {"type": "string"},
    "email_address": {"type": "string", "unique": True},
    "phone": {"type": "string"},
    "source": {"type": "string", "allowed": _SOURCES},
    "company_id": {"type": "string", "nullable": True},
}


def settings() -> dict[str, Any]:
    return {
        "MONGO_URI": os.environ["BENCH_MONGODB_URL"].rstrip("/") + "/" + os.environ.get("BENCH_DB", "bench_ws_default"),
        "URL_PREFIX": "api",
        "RESOURCE_METHODS": ["GET", "POST"],
        "ITEM_METHODS": ["GET", "PATCH", "PUT"],
        "IF_MATCH": False,  # the gateway's If-Match is optional too
        "HATEOAS": False,
        "ALLOW_UNKNOWN": True,
        "PAGINATION_DEFAULT": 25,
        "RENDERERS": ["eve.render.JSONRenderer"],
        "DOMAIN": {
            "contact": {
                "datasource": {"source": "rec_contact"},
                "schema": CONTACT_SCHEMA,
            }
        },
    }


app = Eve(settings=settings())

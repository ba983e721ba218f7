"""The CRM schema every new workspace starts with: contact, company, deal."""

from __future__ import annotations

from typing import Any

SEED_ENTITIES: list[dict[str, Any]] = [
    {
        "name": "company",
        "label": "Company",
        "fields": [
            {"name": "name", "type": "string", "required": True, "indexed": True},
            {"name": "domain", "type": "string", "indexed": True},
            {"name": "website", "type": "url"},
            {"name": "industry", "type": "string"},
            {"name": "employees", "type": "integer"},
            {"name": "phone", "type": "phone"},
        ],
    },
    {
        "name": "contact",
        "label": "Contact",
        "fields": [
            {"name": "first_name", "type": "string", "required": True},
            {"name": "last_name", "type": "string", "indexed": True},
            {"name": "email_address", "type": "email", "unique": True},
            {"name": "phone", "type": "phone"},
            {
                "name": "source",
                "type": "select",
                "indexed": True,
                "options": ["website", "referral", "event", "outbound", "import", "other"],
            },
            {"name": "company_id", "type": "reference", "ref": "company", "indexed": True},
        ],
        "scoring": [
            {"field": "email_address", "op": "is", "value": "not_null", "points": 10},
            {"field": "phone", "op": "is", "value": "not_null", "points": 5},
            {"field": "company_id", "op": "is", "value": "not_null", "points": 10},
            {"field": "source", "op": "eq", "value": "referral", "points": 15},
            {"field": "source", "op": "eq", "value": "website", "points": 5},
        ],
    },
    {
        "name": "deal",
        "label": "Deal",
        "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "amount", "type": "number"},
            {"name": "currency", "type": "string", "default": "EUR"},
            {
                "name": "stage",
                "type": "select",
                "indexed": True,
                "options": ["lead", "qualified", "proposal", "negotiation", "won", "lost"],
                "default": "lead",
            },
            {"name": "close_date", "type": "date"},
            {"name": "company_id", "type": "reference", "ref": "company", "indexed": True},
            {"name": "contact_id", "type": "reference", "ref": "contact"},
        ],
    },
]

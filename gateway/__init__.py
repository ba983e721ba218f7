"""HARi gateway: one REST and one GraphQL API over a CRM's dynamic entities."""

__version__ = "0.1.0"

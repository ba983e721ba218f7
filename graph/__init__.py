"""The GraphQL adapter (Strawberry): a schema per workspace generated from its entity definitions.

Thin like ``rest/``: resolvers parse arguments, call ``gateway.services`` and shape the result.
"""

"""Record events: the in-process bus, the webhook outbox and its aiohttp delivery."""

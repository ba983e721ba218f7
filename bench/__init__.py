"""Benchmarks of the HARi gateway against a floor (raw ASGI + PyMongo) and a peer (Eve), in one run."""

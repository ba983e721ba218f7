"""MongoDB access: Beanie system documents, per-entity record collections, query translation."""

"""The runtimes the resourcifier applies objects to, behind one `Backend` interface (base)."""

"""Development tools (local emulators, fakes) used by scripts/, tests and benchmarks. Never deployed."""

"""Development tools used by scripts/, tests and benchmarks, never deployed: local emulators (Azurite), fakes of the
external services (the model API, the travel APIs, Application Insights) and the harness (``devtools.harness``)
that runs the app's functions as the Functions host, the Durable extension and the worker would.
"""

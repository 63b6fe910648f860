"""Contoso travel assistant: the framework-free core.

Nothing in this package imports Azure Functions. The Functions shell (function_app.py, api/, orchestrators/,
activities/, jobs/) wires these modules to triggers.
"""

"""Benchmarks of issue 6: what an orchestrated chat turn costs, side by side with the original notebook's loop.

Run ``python -m benchmarks`` (``--quick`` for a fast subset). Orchestration figures come from the replay
harness on a virtual clock, so they are exact and repeatable; code figures (CPU, imports, HTTP) are wall or CPU
time, taken as ratios within one run. See the README's "Benchmarks" section for what each figure means.
"""

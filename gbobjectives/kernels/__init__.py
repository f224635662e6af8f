"""Kernels: scalar loss math (``scalar``), CPU loops (``cpu``), CUDA kernels (``cuda``, lazy).

Nothing in this folder imports anything from the rest of the package.
"""

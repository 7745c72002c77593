"""Helpers for tests, demos and benchmarks on the emulator: the real daemon in a throwaway HOME, an
emulator on a background thread, a remote control of a running one, and the pytest plugin.
"""

"""Hourly alerts: fast-growing stories and changed indicator figures, mailed once to opted-in readers."""

"""Tracking: stations, units, officers and their skills, duty, unit status, devices,
live positions and trails, staleness, geofences, and the emergency button.

It owns where every resource is and what state it is in. It must not decide which
unit goes to which incident (that is ``command``, which asks tracking for the nearest
suitable units).
"""

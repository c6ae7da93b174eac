"""Sim: the demo forces and the simulated Staffordshire force that makes `make demo`
a living control room.

It drives Bluelamp only through its services and public interfaces; it never
writes another capability's tables directly.
"""

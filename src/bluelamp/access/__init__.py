"""Access: forces (tenants), users, roles, partner organisations, sessions and API
tokens, security markings, the access policy and the audit log.

It owns who may do what. It must not know about incidents, units or records beyond
the marking and force each one carries.
"""

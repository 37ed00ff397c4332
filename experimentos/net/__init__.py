"""Outbound HTTP: one client for every call that leaves the machine with a credential.

http     requests under one deadline, redirects only within the origin, bounded answers
github   the GitHub REST API on top of it: token from the environment, redacted errors
"""

"""Celerity's example job types, installed as a team installs its own: a Django app listed in CELERITY_EXTRA_APPS."""

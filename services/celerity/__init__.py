"""Celerity's Django apps: jobs (the API and its canvas workloads), demo (the article's tasks), observability."""

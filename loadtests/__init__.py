"""`make loadtest`: chunked and chord workloads against a Celerity deployment, checked for correctness."""

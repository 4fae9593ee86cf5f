"""`make bench`: load tests of Holdfast served the production way (see bench/run.py and docs/performance.md)."""

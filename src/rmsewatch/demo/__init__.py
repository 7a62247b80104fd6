"""The ``rmsewatch demo``: a year of New York flights replayed through the API."""
